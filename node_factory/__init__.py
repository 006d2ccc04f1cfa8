"""The node-model factory: synthetic/real data, integer features, BNN training with distillation, export."""
