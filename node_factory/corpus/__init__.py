"""The corpora: synthetic home sounds and machine vibration, loaders for real datasets and the user's own data,
and the task families that turn them into feature splits."""
