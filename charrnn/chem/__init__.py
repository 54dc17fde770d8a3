"""Chemistry with RDKit: SMILES and why they fail, properties, filters, similarity,
ChemNet, training-set statistics, MOSES metrics, drawing."""
