"""The node model's reference: integer features, the integer network and the exported formats.

numpy only (the ESPHome tests and the GPU tier import it without torch or scipy): this is the spec the C++
kernel in esphome/components/binmoe/kernel/ matches bit for bit.
"""
