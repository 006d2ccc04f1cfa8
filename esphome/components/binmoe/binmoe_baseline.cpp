#include "binmoe_baseline.h"

namespace esphome::binmoe {

static constexpr int64_t VAR_FLOOR = 256;
static constexpr int Q = 16;           // standardised deviations and correlations
static constexpr int SCALE_SHIFT = 3;  // scale = 2^19 / sd
static constexpr int L_SHIFT = 12;     // the factor's entries (int16)
static constexpr int64_t L_MAX = 32767;
static constexpr int64_t D_MIN = int64_t{1} << 12;
static constexpr int64_t Y_MAX = int64_t{1} << 27;
static constexpr int RIDGE_SHIFT = 4;
static constexpr int64_t THRESHOLD_MARGIN_Q4 = 24;
static constexpr uint32_t NULL_SDS = 6;
static constexpr uint32_t MAX_WINDOWS = uint32_t{1} << 16;
static constexpr int64_t SCORE_MAX = 0xFFFFFFFFLL;
static const uint8_t MAGIC[4] = {'B', 'M', 'B', 'L'};
static constexpr uint8_t VERSION = BASELINE_VERSION;

// Byte helpers without <string.h>: the same file builds freestanding for the rv32imc cost benchmark.
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i++)
    dst[i] = src[i];
}
static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

static int64_t floor_div(int64_t a, int64_t b) {  // Python's //, b > 0
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

static uint32_t crc32(const uint8_t *data, size_t len) {  // zlib's CRC-32 (reflected 0xEDB88320)
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
static uint16_t get_u16(const uint8_t *p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  return p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

void baseline_signature(const int8_t *features, int frames, int bands, int32_t *signature) {
  for (int b = 0; b < bands; b++)
    signature[b] = 0;
  for (int f = 0; f < frames; f++)
    for (int b = 0; b < bands; b++)
      signature[b] += features[f * bands + b];
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static uint64_t isqrt64(uint64_t x) {  // floor(sqrt(x)), exact (Python's math.isqrt)
  uint64_t r = 0, bit = uint64_t{1} << 62;
  while (bit > x)
    bit >>= 2;
  while (bit != 0) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  return r;
}

uint32_t BaselineModel::score(const int32_t *signature, int bands) const {
  int64_t y[MAX_BASELINE_BANDS];
  int64_t total = 0;
  for (int k = 0; k < bands; k++) {
    const int16_t *row = this->lower + k * (k - 1) / 2;  // L's row k: k entries
    const int64_t u = ((int64_t{signature[k]} - this->mean[k]) * this->scale[k]) >> SCALE_SHIFT;
    int64_t acc = 0;
    for (int j = 0; j < k; j++)
      acc += int64_t{row[j]} * y[j];
    y[k] = clamp64(u - (acc >> L_SHIFT), -Y_MAX, Y_MAX);
    const int64_t h = y[k] >> 8;
    total += (h * h * this->weight[k]) >> 24;
  }
  return static_cast<uint32_t>(total < SCORE_MAX ? total : SCORE_MAX);
}

// The threshold's floor, 16 * (k + NULL_SDS * sqrt(2k)) for k bands (the reference's null_floor): the tail of
// a healthy window's score, about 16 * chi-square(k). Once per learnt baseline, so a plain integer sqrt.
static int64_t null_floor(int bands) {
  const uint32_t v = 2 * static_cast<uint32_t>(bands) * (16 * NULL_SDS) * (16 * NULL_SDS);
  uint32_t r = 0;
  while ((r + 1) * (r + 1) <= v)
    r++;
  return 16 * int64_t{bands} + r;
}

size_t Baseline::to_bytes(uint8_t *out) const {
  copy_bytes(out, MAGIC, 4);
  out[4] = VERSION;
  out[5] = this->bands;
  copy_bytes(out + 6, this->feature_digest, 8);
  put_u32(out + 14, this->windows);
  put_u32(out + 18, this->threshold);
  out[22] = this->enter_windows;
  out[23] = this->exit_windows;
  uint8_t *p = out + BASELINE_HEADER_BYTES;
  const BaselineModel &m = this->model;
  for (int b = 0; b < this->bands; b++, p += 4)
    put_u32(p, static_cast<uint32_t>(m.mean[b]));
  for (int b = 0; b < this->bands; b++, p += 2)
    put_u16(p, m.scale[b]);
  for (int b = 0; b < this->bands; b++, p += 2)
    put_u16(p, m.weight[b]);
  for (int t = 0; t < this->bands * (this->bands - 1) / 2; t++, p += 2)
    put_u16(p, static_cast<uint16_t>(m.lower[t]));
  put_u32(p, crc32(out, p - out));
  return p + 4 - out;
}

uint8_t baseline_format_version(const uint8_t *blob, size_t len) {
  return len >= 5 && same_bytes(blob, MAGIC, 4) ? blob[4] : 0;
}

BaselineLoad baseline_from_bytes(const uint8_t *blob, size_t len, const uint8_t digest[8], Baseline *out) {
  if (len < BASELINE_HEADER_BYTES + 4 || crc32(blob, len - 4) != get_u32(blob + len - 4))
    return BaselineLoad::CORRUPT;
  const uint8_t bands = blob[5];
  const uint8_t version = baseline_format_version(blob, len);
  if (version == 0 || version > VERSION)
    return BaselineLoad::CORRUPT;
  if (version < VERSION)
    return BaselineLoad::OLD_VERSION;
  if (bands == 0 || bands > MAX_BASELINE_BANDS || len != baseline_blob_bytes(bands))
    return BaselineLoad::CORRUPT;
  if (!same_bytes(blob + 6, digest, 8))
    return BaselineLoad::FOREIGN;
  const uint32_t windows = get_u32(blob + 14), threshold = get_u32(blob + 18);
  if (windows == 0 || threshold == 0 || blob[22] == 0 || blob[23] == 0)
    return BaselineLoad::CORRUPT;
  copy_bytes(out->feature_digest, digest, 8);
  out->bands = bands;
  out->windows = windows;
  out->threshold = threshold;
  out->enter_windows = blob[22];
  out->exit_windows = blob[23];
  BaselineModel &m = out->model;
  const uint8_t *p = blob + BASELINE_HEADER_BYTES;
  for (int b = 0; b < bands; b++, p += 4)
    m.mean[b] = static_cast<int32_t>(get_u32(p));
  for (int b = 0; b < bands; b++, p += 2)
    m.scale[b] = get_u16(p);
  for (int b = 0; b < bands; b++, p += 2)
    m.weight[b] = get_u16(p);
  for (int t = 0; t < bands * (bands - 1) / 2; t++, p += 2)
    m.lower[t] = static_cast<int16_t>(get_u16(p));
  return BaselineLoad::OK;
}

bool BaselineLearner::start(int bands, uint32_t total_windows, const uint8_t digest[8],
                            BaselinePersistence persistence) {
  if (bands < 1 || bands > MAX_BASELINE_BANDS || total_windows < 4 || persistence.enter_windows == 0 ||
      persistence.exit_windows == 0)
    return false;
  this->persistence_ = persistence;
  for (int b = 0; b < MAX_BASELINE_BANDS; b++)
    this->s_[b] = 0;
  for (int t = 0; t < MAX_BASELINE_BANDS * (MAX_BASELINE_BANDS + 1) / 2; t++)
    this->ss_[t] = 0;
  copy_bytes(this->digest_, digest, 8);
  this->bands_ = bands;
  this->total_ = total_windows;
  this->n_ = this->seen_ = this->cal_max_ = 0;
  this->have_first_ = false;
  return true;
}

int BaselineLearner::progress_percent() const {
  if (this->total_ == 0)
    return 0;
  uint64_t p = uint64_t{this->seen_} * 100 / this->total_;
  return p > 100 ? 100 : static_cast<int>(p);
}

// The reference's _Moments.model(): floored mean; covariance (n*ss - s_i*s_j) // n^2, variances floored at
// VAR_FLOOR; a correlation in Q16 with a ridge of 1/16 on its diagonal, factored as L D L^T. Once per half.
void BaselineLearner::model_(BaselineModel *out) const {
  const int64_t n = this->n_ > 0 ? this->n_ : 1;
  const int k = this->bands_;
  auto cov = [&](int i, int j) {  // i >= j
    const int64_t t = this->ss_[i * (i + 1) / 2 + j];
    return floor_div(n * t - this->s_[i] * this->s_[j], n * n);
  };
  int64_t var[MAX_BASELINE_BANDS], d[MAX_BASELINE_BANDS];
  for (int b = 0; b < k; b++) {
    out->mean[b] = static_cast<int32_t>(floor_div(this->s_[b], n));
    const int64_t v = cov(b, b);
    var[b] = v > VAR_FLOOR ? v : VAR_FLOOR;
    out->scale[b] = static_cast<uint16_t>((int64_t{1} << (24 + SCALE_SHIFT)) /
                                          static_cast<int64_t>(isqrt64(static_cast<uint64_t>(var[b]) << Q)));
  }
  int16_t *lo = out->lower;  // row i starts at i * (i - 1) / 2
  for (int j = 0; j < k; j++) {
    const int16_t *lj = lo + j * (j - 1) / 2;
    int64_t a = (var[j] * out->scale[j] * out->scale[j]) >> (Q + 2 * SCALE_SHIFT);
    a += a >> RIDGE_SHIFT;
    for (int m = 0; m < j; m++)
      a -= (int64_t{lj[m]} * lj[m] * d[m]) >> (2 * L_SHIFT);
    d[j] = a > D_MIN ? a : D_MIN;
    for (int i = j + 1; i < k; i++) {
      int16_t *li = lo + i * (i - 1) / 2;
      int64_t r = (cov(i, j) * out->scale[i] * out->scale[j]) >> (Q + 2 * SCALE_SHIFT);
      for (int m = 0; m < j; m++)
        r -= (int64_t{li[m]} * lj[m] * d[m]) >> (2 * L_SHIFT);
      li[j] = static_cast<int16_t>(clamp64(floor_div(r * (int64_t{1} << L_SHIFT), d[j]), -L_MAX, L_MAX));
    }
  }
  for (int b = 0; b < k; b++) {
    const int64_t w = (int64_t{1} << 28) / d[b];
    out->weight[b] = static_cast<uint16_t>(w < 0xFFFF ? w : 0xFFFF);
  }
}

void BaselineLearner::push(const int32_t *signature) {
  if (!this->learning())
    return;
  if (this->seen_ == this->total_ / 2) {
    this->model_(&this->first_);
    this->have_first_ = true;
  }
  if (this->have_first_) {
    uint32_t s = this->first_.score(signature, this->bands_);
    if (s > this->cal_max_)
      this->cal_max_ = s;
  }
  if (this->n_ < MAX_WINDOWS) {
    this->n_++;
    int t = 0;
    for (int i = 0; i < this->bands_; i++) {
      this->s_[i] += signature[i];
      for (int j = 0; j <= i; j++)
        this->ss_[t++] += int64_t{signature[i]} * signature[j];
    }
  }
  this->seen_++;
}

void BaselineLearner::result(Baseline *out) const {
  copy_bytes(out->feature_digest, this->digest_, 8);
  out->bands = this->bands_;
  out->windows = this->n_;
  this->model_(&out->model);
  int64_t threshold = (int64_t{this->cal_max_} * THRESHOLD_MARGIN_Q4) >> 4;
  const int64_t lowest = null_floor(this->bands_);
  threshold = threshold > lowest ? threshold : lowest;
  out->threshold = static_cast<uint32_t>(threshold < SCORE_MAX ? threshold : SCORE_MAX);
  out->enter_windows = this->persistence_.enter_windows;
  out->exit_windows = this->persistence_.exit_windows;
}

void AnomalyDetector::set_baseline(const Baseline &baseline) {
  this->baseline_ = baseline;
  this->run_ = 0;
  this->active_ = false;
}

void AnomalyDetector::set_persistence(BaselinePersistence persistence) {
  if (persistence.enter_windows != 0)
    this->baseline_.enter_windows = persistence.enter_windows;
  if (persistence.exit_windows != 0)
    this->baseline_.exit_windows = persistence.exit_windows;
}

uint32_t AnomalyDetector::push(const int32_t *signature, bool *started) {
  const Baseline &b = this->baseline_;
  const uint32_t s = b.score(signature);
  *started = false;
  if (!this->active_) {
    this->run_ = s > b.threshold ? this->run_ + 1 : 0;
    if (this->run_ >= b.enter_windows) {
      this->active_ = true;
      this->run_ = 0;
      *started = true;
    }
  } else {
    this->run_ = uint64_t{s} * 4 < uint64_t{b.threshold} * 3 ? this->run_ + 1 : 0;
    if (this->run_ >= b.exit_windows) {
      this->active_ = false;
      this->run_ = 0;
    }
  }
  return s;
}

}  // namespace esphome::binmoe
