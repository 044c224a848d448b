"""Reports people and programs read: the run's results as JSON (a documented schema) and as Markdown for a CI
job's step summary, built from what every item recorded (its JUnit properties, already masked)."""
