"""The run store and its jobs: workspaces, run folders and their config, planning a run,
workers and the job runner, chemistry checks, transfer, gallery, instructor, settings."""
