"""BinMoE GPU tier: vLLM launcher, diagnosis API, MQTT bridge and the node-model factory."""
