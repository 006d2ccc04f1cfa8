#include "binmoe_adpcm.h"

namespace esphome::binmoe {

namespace {

// the IMA/DVI tables: how the step index moves after a code's magnitude, and the 89 step sizes
constexpr int8_t INDEX_SHIFT[8] = {-1, -1, -1, -1, 2, 4, 6, 8};
constexpr uint16_t STEPS[89] = {
    7,    8,     9,     10,    11,    12,    13,    14,    16,    17,    19,    21,    23,    25,   28,
    31,   34,    37,    41,    45,    50,    55,    60,    66,    73,    80,    88,    97,    107,  118,
    130,  143,   157,   173,   190,   209,   230,   253,   279,   307,   337,   371,   408,   449,  494,
    544,  598,   658,   724,   796,   876,   963,   1060,  1166,  1282,  1411,  1552,  1707,  1878, 2066,
    2272, 2499,  2749,  3024,  3327,  3660,  4026,  4428,  4871,  5358,  5894,  6484,  7132,  7845, 8630,
    9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767};

}  // namespace

void AdpcmCapture::reset() {
  this->slot_ = 0;
  this->in_block_ = 0;
  this->complete_ = 0;
  this->predictor_ = 0;
  this->index_ = 0;
}

void AdpcmCapture::write(const int16_t *samples, int count) {
  if (this->data_ == nullptr)
    return;
  // the encoder's state in locals while the chunk is encoded (registers, not loads and stores per sample)
  int32_t predictor = this->predictor_;
  int index = this->index_;
  uint32_t in_block = this->in_block_;
  uint8_t *block = this->data_ + size_t{this->slot_} * ADPCM_BLOCK_BYTES;
  for (int i = 0; i < count; i++) {
    const int32_t sample = samples[i];
    if (in_block == 0) {  // the header: the sample itself, the step index, a zero byte
      const uint16_t raw = static_cast<uint16_t>(sample);
      block[0] = static_cast<uint8_t>(raw & 0xFF);
      block[1] = static_cast<uint8_t>(raw >> 8);
      block[2] = static_cast<uint8_t>(index);
      block[3] = 0;
      predictor = sample;
    } else {
      int32_t diff = sample - predictor, step = STEPS[index], delta = step >> 3;
      uint8_t code = 0;
      if (diff < 0) {
        code = 8;
        diff = -diff;
      }
      for (uint8_t bit = 4; bit != 0; bit >>= 1) {
        if (diff >= step) {
          code |= bit;
          diff -= step;
          delta += step;
        }
        step >>= 1;
      }
      predictor += (code & 8) ? -delta : delta;
      predictor = predictor > 32767 ? 32767 : (predictor < -32768 ? -32768 : predictor);
      index += INDEX_SHIFT[code & 7];
      index = index < 0 ? 0 : (index > 88 ? 88 : index);
      uint8_t &byte = block[ADPCM_HEADER_BYTES + (in_block - 1) / 2];
      byte = (in_block & 1) ? code : static_cast<uint8_t>(byte | (code << 4));
    }
    if (++in_block == ADPCM_BLOCK_SAMPLES) {
      in_block = 0;
      this->slot_ = this->slot_ == this->blocks_ ? 0 : this->slot_ + 1;
      if (this->complete_ < this->blocks_)
        this->complete_++;
      block = this->data_ + size_t{this->slot_} * ADPCM_BLOCK_BYTES;
    }
  }
  this->predictor_ = predictor;
  this->index_ = static_cast<uint8_t>(index);
  this->in_block_ = in_block;
}

void AdpcmCapture::copy_in_order(uint8_t *out) const {
  // the complete blocks are the `complete_` slots before the one being written
  const uint32_t slots = this->blocks_ + 1;
  uint32_t slot = (this->slot_ + slots - this->complete_) % slots;
  for (uint32_t k = 0; k < this->complete_; k++) {
    // a plain loop, no libc: the encoder builds freestanding like the kernel (benchmarks/capture_cost.py); it runs
    // once per escalation
    const uint8_t *from = this->data_ + size_t{slot} * ADPCM_BLOCK_BYTES;
    for (size_t i = 0; i < ADPCM_BLOCK_BYTES; i++)
      out[size_t{k} * ADPCM_BLOCK_BYTES + i] = from[i];
    slot = slot + 1 == slots ? 0 : slot + 1;
  }
}

}  // namespace esphome::binmoe
