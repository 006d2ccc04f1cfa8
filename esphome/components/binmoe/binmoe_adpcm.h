// A shaft-order capture kept as IMA ADPCM in WAV's mono block layout (docs/protocol.md, capture_encoding
// ima_adpcm): four bits a sample, so a node keeps four times the seconds in the same bytes. The reference is
// node_factory/reference/ima_adpcm.py; tests/node_factory/test_adpcm_node.py feeds both the same samples and
// compares every byte. Integer arithmetic; the blocks live in memory the caller allocates once.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace esphome::binmoe {

static constexpr size_t ADPCM_BLOCK_BYTES = 256;
static constexpr size_t ADPCM_HEADER_BYTES = 4;
static constexpr uint32_t ADPCM_BLOCK_SAMPLES = 1 + 2 * (ADPCM_BLOCK_BYTES - ADPCM_HEADER_BYTES);  // 505

// Encodes a stream into a ring of blocks. Each block starts with its first sample, the step index and a zero byte,
// then two samples a byte, the earlier in the low nibble; the predictor restarts from each block's first sample
// (a block decodes alone) and the step index carries over. The block being written is never sent.
class AdpcmCapture {
 public:
  // `storage` holds blocks + 1 blocks (ADPCM_BLOCK_BYTES each): `blocks` complete ones and the one being written.
  void init(uint8_t *storage, uint32_t blocks) {
    this->data_ = storage;
    this->blocks_ = blocks;
    this->reset();
  }
  // A new stream: nothing captured, the step index back to 0.
  void reset();
  void write(const int16_t *samples, int count);
  uint32_t blocks() const { return this->blocks_; }
  // Complete blocks kept, at most blocks().
  uint32_t complete() const { return this->complete_; }
  // The complete blocks, oldest first, into `out` (complete() * ADPCM_BLOCK_BYTES bytes).
  void copy_in_order(uint8_t *out) const;

 protected:
  uint8_t *data_{nullptr};
  uint32_t blocks_{0}, slot_{0}, in_block_{0}, complete_{0};
  int32_t predictor_{0};
  uint8_t index_{0};
};

}  // namespace esphome::binmoe
