"""Teacher and BNN student training with distillation and pruning, folding into the integer model,
calibration of the escalation thresholds, and the end-to-end run that writes a run directory."""
