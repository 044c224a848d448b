"""Secrets hygiene while a deployer applies: where the secret values the run handed out must never show (a remote
command line, the Job's log, the image, a file others can read), judged from the journal of remote commands, the
pods' logs, the image's history and files, and the converged machines."""
