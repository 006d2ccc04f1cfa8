// BinMoE node kernel: integer features + binarized network + routing decision.
// Header-only C++17, no heap, no floating point in the hot path, buffers sized at compile time.
// It must produce exactly the integers of the Python reference (node_factory/reference/features.py, network.py).
//
// API (docs/node-model.md, "Kernel API"):
//   binmoe::Model<...>          a model: weights, thresholds, class names, feature config, hash
//                               (exported headers define `binmoe::models::<stem>::kModel`)
//   binmoe::Pipeline<M>         push int16 samples -> feature frames -> a window ready to classify
//   binmoe::infer(model, features, logits_out) -> binmoe::Decision {class_idx, margin, escalate}
//   binmoe::FeatureExtractor<>  one frame of samples -> one int8 feature frame
//   binmoe::FeatureConfig       what the features are; compare at compile time (static_assert)
#pragma once
#include <stdint.h>  // not <cstdint>: bare-metal cross compilers ship no C++ library headers

#if defined(__GNUC__)
#define BINMOE_NOINLINE __attribute__((noinline))  // one copy of the FFT, also where a frame runs it twice
#else
#define BINMOE_NOINLINE
#endif

namespace binmoe {

// Version of the network topology and feature algorithm the kernel implements; every exported model
// header static_asserts it, so a model made for another kernel does not compile. 3 = 2 plus the optional
// per-window level normalisation of the input (Weights::level_norm); a model blob without it says version 2.
static constexpr int kKernelVersion = 3;
// Layout of the exported model headers: 2 = quarter-wave twiddle table, the batch-norm signs folded into the
// weights, int8 thresholds for the binary layers; 3 = also the first layer's weights packed at the model's
// precision (8, 4 or 2 bits) and binary rows of 16 bits for up to 16 channels; 4 = also kLevelNorm (the
// Weights' last field). Headers static_assert it.
static constexpr int kHeaderFormat = 4;

// ---- feature configuration -------------------------------------------------------------------------
// What a model's features are. `digest32` is the first 32 bits of FeatureConfig.digest() in Python, which
// also covers the band edges and the algorithm: two configs are the same features iff everything matches.
struct FeatureConfig {
  int32_t sample_rate;     // Hz
  int32_t frame;           // samples per frame = FFT size = hop (no overlap)
  int32_t frames;          // frames per window
  int32_t bands;           // features per frame (spectrum bands + envelope bands)
  int32_t envelope_bands;  // of `bands`, how many come from the envelope spectrum (vibration), else 0
  uint32_t digest32;
};

constexpr bool same_features(const FeatureConfig &a, const FeatureConfig &b) {
  return a.sample_rate == b.sample_rate && a.frame == b.frame && a.frames == b.frames && a.bands == b.bands &&
         a.envelope_bands == b.envelope_bands && a.digest32 == b.digest32;
}

// The routing decision of one window.
struct Decision {
  int class_idx;   // top-1 class (lowest index wins ties)
  int32_t margin;  // top-1 minus top-2 logit
  bool escalate;   // margin below the class's calibrated threshold
};

// ---- features ------------------------------------------------------------------------------------
// One frame of N int16 samples -> BANDS int8 log2 band energies (radix-2 FFT, Q15 twiddles, 1/2 per
// stage; the twiddles come from a quarter-wave sine table, N/4 + 1 entries). The last ENV_BANDS come from
// the spectrum of the envelope |x[n] - x[n-1]| / 2 (vibration).
template<int N, int BANDS, int ENV_BANDS = 0> class FeatureExtractor {
  static_assert(N >= 4 && (N & (N - 1)) == 0, "frame size must be a power of two");
  static_assert(ENV_BANDS >= 0 && ENV_BANDS < BANDS, "envelope bands are a part of the bands");
  static constexpr int SPEC_BANDS = BANDS - ENV_BANDS;

 public:
  // quarter_sin: round(32767 sin(2 pi k / N)) for k = 0..N/4; edges: SPEC_BANDS + 1 FFT-bin edges, then
  // ENV_BANDS + 1 more if any (both from the exported model header).
  FeatureExtractor(const int16_t *quarter_sin, const uint16_t *edges) : sin_(quarter_sin), edges_(edges) {}

  void frame(const int16_t *samples, int8_t *out) {
    fft(samples);
    for (int band = 0; band < SPEC_BANDS; band++)
      out[band] = band_feature(edges_[band], edges_[band + 1]);
    if (ENV_BANDS > 0) {
      env_[0] = 0;
      for (int i = 1; i < N; i++) {
        const int32_t d = static_cast<int32_t>(samples[i]) - samples[i - 1];
        env_[i] = static_cast<int16_t>((d < 0 ? -d : d) >> 1);
      }
      fft(env_);
      const uint16_t *e = edges_ + SPEC_BANDS + 1;
      for (int band = 0; band < ENV_BANDS; band++)
        out[SPEC_BANDS + band] = band_feature(e[band], e[band + 1]);
    }
  }

  // The last FFT's N bins (re, im; valid after frame() until the next): for audio (no envelope bands) the
  // frame's spectrum, which the node's alarm-tone detector reads (binmoe_alarm_tone.h) instead of a second FFT.
  const int32_t *spectrum_re() const { return re_; }
  const int32_t *spectrum_im() const { return im_; }

  // floor-ish 8*log2(v): leading-one position and the next three bits.
  static int32_t log2_q3(uint64_t v) {
    if (v < 1)
      v = 1;
    const int msb = 63 - __builtin_clzll(v);
    const int32_t mant =
        msb >= 3 ? static_cast<int32_t>((v >> (msb - 3)) & 7) : static_cast<int32_t>((v << (3 - msb)) & 7);
    return msb * 8 + mant;
  }

 private:
  // 32-bit arithmetic is exact here (the reference uses 64 bits): a complex value's magnitude starts at
  // <= 32768 and grows by < 1.5 per stage (rounding), so |b| * |w| < 32782 * 32768 < 2^31 for every
  // product, and re^2 + im^2 < 2^31 for the power.
  BINMOE_NOINLINE void fft(const int16_t *samples) {
    for (int i = 0, r = 0; i < N; i++) {  // bit-reversed copy; r = reverse(i), incremented from the top bit
      re_[i] = samples[r];
      im_[i] = 0;
      int bit = N >> 1;
      while (r & bit) {
        r ^= bit;
        bit >>= 1;
      }
      r |= bit;
    }
    for (int size = 2, step = N / 2; size <= N; size <<= 1, step >>= 1) {
      const int half = size >> 1;
      for (int j = 0; j < half; j++) {
        // e^{-i 2 pi k / N} for k < N/2 from the quarter wave (exact: the full table has these symmetries)
        const int k = j * step;
        const int32_t wr = k <= N / 4 ? sin_[N / 4 - k] : -static_cast<int32_t>(sin_[k - N / 4]);
        const int32_t wi = -static_cast<int32_t>(k <= N / 4 ? sin_[k] : sin_[N / 2 - k]);
        for (int a = j; a < N; a += size) {
          const int b = a + half;
          const int32_t br = re_[b], bi = im_[b];
          const int32_t tr = (br * wr - bi * wi) >> 15;
          const int32_t ti = (br * wi + bi * wr) >> 15;
          const int32_t ar = re_[a], ai = im_[a];
          re_[a] = (ar + tr) >> 1;
          im_[a] = (ai + ti) >> 1;
          re_[b] = (ar - tr) >> 1;
          im_[b] = (ai - ti) >> 1;
        }
      }
    }
  }
  int8_t band_feature(int lo, int hi) const {
    uint64_t power = 0;
    for (int k = lo; k < hi; k++)
      power += static_cast<uint32_t>(re_[k] * re_[k] + im_[k] * im_[k]);
    const int32_t v = (log2_q3(power) >> 1) - 64;
    return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
  }

  const int16_t *sin_;
  const uint16_t *edges_;
  int32_t re_[N], im_[N];
  int16_t env_[ENV_BANDS > 0 ? N : 1];
};

// ---- network -------------------------------------------------------------------------------------
// One time step of the binary layers' channels: 16 bits hold up to 16 channels (half the flash of the rows).
template<bool NARROW> struct RowWord { using type = uint32_t; };
template<> struct RowWord<true> { using type = uint16_t; };

// W1_BITS: the first layer's weight precision. 8 = int8; 4 = int4 (-7..7) and 2 = ternary (-1..1), packed
// low bits first, 8 / W1_BITS weights per byte, in the same [C][K][BANDS] order.
template<int BANDS, int FRAMES, int C, int CLASSES, int W1_BITS = 8> class Network {
  static_assert(C <= 32, "binary layers pack one time step of channels into 32 bits");
  static_assert(CLASSES >= 2, "at least two classes");
  static_assert(W1_BITS == 8 || W1_BITS == 4 || W1_BITS == 2, "first-layer weights are 8, 4 or 2 bits");
  static constexpr int K = 3, STRIDE1 = 2;  // L1 halves the time resolution
  static constexpr int T1 = (FRAMES - K) / STRIDE1 + 1, T2 = T1 - 2, T3 = T2 - 2;
  static_assert(T3 >= 1, "too few frames for the network");
  static constexpr int W1_ROW = K * BANDS;  // one output channel's first-layer weights
  static_assert(W1_ROW * W1_BITS % 8 == 0, "a channel's packed first-layer weights fill whole bytes");

 public:
  using Row = typename RowWord<(C <= 16)>::type;
  static constexpr int ROW_BITS = C <= 16 ? 16 : 32;
  // A channel fires when its accumulator reaches its threshold. The batch-norm signs of the model bytes are
  // folded in at export (a negative sign negates the channel's weights), and the binary layers' thresholds
  // fit int8: |dot| <= 3 * 32.
  struct Weights {
    const int8_t *w1;  // [C][K][BANDS], packed at W1_BITS
    const int32_t *t1;
    const Row *w2;  // [C][K] rows: input channel c at bit ROW_BITS - 1 - c
    const int8_t *t2;
    const Row *w3;
    const int8_t *t3;
    const int8_t *w4;  // [CLASSES][C]
    const int32_t *b4;
    const int32_t *margin_thresholds;
    // The model expects each window's features minus their mean level m (node_factory/reference/level_norm.py);
    // the kernel never forms them: sum_i w_i (x_i - m) = dot(w, x) - m * sum(w), folded into the threshold.
    bool level_norm;
  };
  struct Result {
    int class_idx;
    int32_t margin;
    bool escalate;
    int32_t logits[CLASSES];
  };

  // features: FRAMES x BANDS int8 (frame-major), as FeatureExtractor writes them. Scratch lives on the
  // stack (2 x FRAMES rows, one channel's unpacked weights); nothing is kept between calls. margins:
  // per-class escalation margins to use instead of the model's (e.g. set in YAML), or null.
  static Decision run(const Weights &w, const int8_t *features, int32_t *logits, const int32_t *margins = nullptr) {
    Row a[T1], b[T2];
    first_layer(w, features, a);
    binary_layer(w.w2, w.t2, a, b, T2);
    binary_layer(w.w3, w.t3, b, a, T3);
    int32_t centred[C];
    for (int o = 0; o < C; o++) {
      int32_t count = 0;
      for (int t = 0; t < T3; t++)
        count += (a[t] >> (ROW_BITS - 1 - o)) & 1;
      centred[o] = 2 * count - T3;
    }
    int best = 0;
    int32_t top = INT32_MIN_, second = INT32_MIN_;  // one pass; a tie leaves the lower index on top
    for (int j = 0; j < CLASSES; j++) {
      int32_t acc = w.b4[j];
      for (int o = 0; o < C; o++)
        acc += static_cast<int32_t>(w.w4[j * C + o]) * centred[o];
      logits[j] = acc;
      if (acc > top) {
        second = top;
        top = acc;
        best = j;
      } else if (acc > second) {
        second = acc;
      }
    }
    const int32_t margin = top - second;
    return Decision{best, margin, margin < (margins != nullptr ? margins : w.margin_thresholds)[best]};
  }

  // The first API (kept): the decision and the logits in one struct.
  void infer(const Weights &w, const int8_t *features, Result &out) {
    const Decision d = run(w, features, out.logits);
    out.class_idx = d.class_idx;
    out.margin = d.margin;
    out.escalate = d.escalate;
  }

 private:
  static constexpr int32_t INT32_MIN_ = -2147483647 - 1;
  static constexpr int32_t INT32_MAX_ = 2147483647;
  static constexpr Row bit(int channel) { return static_cast<Row>(1u << (ROW_BITS - 1 - channel)); }
  static constexpr uint32_t mask() {
    uint32_t m = 0;
    for (int c = 0; c < C; c++)
      m |= bit(c);
    return m;
  }
  // Output channel o's first-layer weights as int8: in place for 8 bits, else unpacked into `buf`
  // (sign-extended fields, low bits first).
  static const int8_t *channel_weights(const int8_t *w1, int o, int8_t *buf) {
    if (W1_BITS == 8)
      return w1 + o * W1_ROW;
    constexpr int PER_BYTE = 8 / W1_BITS, UP = 8 - W1_BITS;
    const uint8_t *packed = reinterpret_cast<const uint8_t *>(w1) + o * (W1_ROW / PER_BYTE);
    for (int i = 0; i < W1_ROW; i++) {
      const uint8_t field = static_cast<uint8_t>((packed[i / PER_BYTE] >> ((i % PER_BYTE) * W1_BITS)) << UP);
      buf[i] = static_cast<int8_t>(static_cast<int8_t>(field) >> UP);
    }
    return buf;
  }
  // The integer layer: ~3/4 of the network's instructions. One output channel at a time, so packed weights
  // are unpacked once per window; the dot products are unrolled by 8 in whole blocks (no remainder code),
  // which even at -Os (ESPHome's) keeps a 24-channel int8 model at ~127,000 rv32imc instructions per
  // inference (~136,000 with the level normalisation; budget 160,000).
  BINMOE_NOINLINE static void first_layer(const Weights &w, const int8_t *features, Row *out) {
    for (int t = 0; t < T1; t++)
      out[t] = 0;
    int8_t buf[W1_BITS == 8 ? 1 : W1_ROW];
    const int32_t level = w.level_norm ? window_level(features) : 0;
    for (int o = 0; o < C; o++) {
      const int8_t *wo = channel_weights(w.w1, o, buf);
      int32_t threshold = w.t1[o];
      if (w.level_norm) {  // acc - level * sum(w) >= t1  <=>  acc >= t1 + level * sum(w); same work for any level
        int32_t weight_sum = 0;
        for (int i = 0; i < W1_ROW; i++)
          weight_sum += wo[i];
        // |acc| <= 3 * BANDS * 127 * 128 < 2^31: a threshold beyond int32 decides the same clamped to it
        const int64_t shifted = static_cast<int64_t>(threshold) + static_cast<int64_t>(level) * weight_sum;
        threshold =
            shifted > INT32_MAX_ ? INT32_MAX_ : (shifted < INT32_MIN_ ? INT32_MIN_ : static_cast<int32_t>(shifted));
      }
      for (int t = 0; t < T1; t++) {
        const int8_t *x = features + t * STRIDE1 * BANDS;  // K consecutive frames: contiguous with wo
        int32_t acc = 0;
        for (int i = 0; i < W1_ROW; i += UNROLL) {  // whole blocks: no remainder code
#pragma GCC unroll 8
          for (int j = 0; j < UNROLL; j++)
            acc += static_cast<int32_t>(wo[i + j]) * x[i + j];
        }
        if (acc >= threshold)
          out[t] |= bit(o);
      }
    }
  }
  static constexpr int UNROLL = W1_ROW % 8 == 0 ? 8 : (W1_ROW % 4 == 0 ? 4 : 1);
  // The window's mean level, rounded half up: floor((sum + n / 2) / n), n = FRAMES * BANDS. C++ division
  // truncates toward zero, so a negative numerator is floored by hand.
  static int32_t window_level(const int8_t *features) {
    constexpr int32_t N = FRAMES * BANDS;
    int32_t sum = N / 2;
    for (int i = 0; i < N; i++)
      sum += features[i];
    return sum >= 0 ? sum / N : -((-sum + N - 1) / N);
  }
  // SWAR popcount: rv32imc has no popcount instruction, and libgcc's is a call.
  static int32_t popcount(uint32_t v) {
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    return static_cast<int32_t>((v * 0x01010101u) >> 24);
  }
  static void binary_layer(const Row *wp, const int8_t *thr, const Row *in, Row *out, int t_out) {
    for (int t = 0; t < t_out; t++) {
      Row word = 0;
      for (int o = 0; o < C; o++) {
        int32_t matches = 0;
        const Row *rows = wp + o * K;
        for (int k = 0; k < K; k++)
          matches += popcount(~static_cast<uint32_t>(rows[k] ^ in[t + k]) & mask());
        const int32_t dot = 2 * matches - C * K;
        if (dot >= thr[o])
          word |= bit(o);
      }
      out[t] = word;
    }
  }
};

// ---- model ---------------------------------------------------------------------------------------
// Everything the node needs of one model; exported headers define one as a constexpr `kModel`.
template<int FRAME, int FRAMES, int BANDS, int ENV_BANDS, int CHANNELS, int CLASSES, int W1_BITS = 8> struct Model {
  static constexpr int kFrame = FRAME, kFrames = FRAMES, kBands = BANDS, kEnvelopeBands = ENV_BANDS;
  static constexpr int kChannels = CHANNELS, kClasses = CLASSES, kW1Bits = W1_BITS;
  static constexpr int kWindowSamples = FRAME * FRAMES, kFeatureBytes = FRAMES * BANDS;
  using Features = FeatureExtractor<FRAME, BANDS, ENV_BANDS>;
  using Net = Network<BANDS, FRAMES, CHANNELS, CLASSES, W1_BITS>;

  const char *id;     // e.g. "sound-v1" (protocol `model`)
  const char *hash8;  // first 8 hex digits of the sha256 of the model bytes (protocol `model_hash`)
  FeatureConfig features;
  const char *const *class_names;
  typename Net::Weights weights;  // incl. the per-class escalation margins
  float logit_scale;              // confidence = softmax(logits * logit_scale); never used by the kernel
  const uint16_t *band_edges;
  const int16_t *twiddle_quarter_sin;  // N/4 + 1 entries
};

// Classify one window of features (FRAMES x BANDS, frame-major). logits_out: CLASSES int32.
// margins: per-class escalation margins replacing the model's, or null.
template<class M>
Decision infer(const M &model, const int8_t *features, int32_t *logits_out, const int32_t *margins = nullptr) {
  return M::Net::run(model.weights, features, logits_out, margins);
}

// Compile-time check for the component: does the model take this input? (static_assert it.)
template<class M> constexpr bool takes_input(const M &model, int32_t sample_rate, int32_t frame = 0) {
  return model.features.sample_rate == sample_rate && (frame == 0 || model.features.frame == frame);
}

// ---- streaming pipeline ----------------------------------------------------------------------------
// Samples in, decisions out: buffers one frame of samples, turns every full frame into features, keeps the
// last FRAMES feature frames, and says when a window is ready (first after FRAMES frames, then every
// `hop_frames`). Also keeps each frame's mean square for the protocol's `level_db`.
template<class M> class Pipeline {
 public:
  explicit Pipeline(const M &model, int hop_frames = M::kFrames)
      : model_(model),
        hop_(hop_frames < 1 ? 1 : (hop_frames > M::kFrames ? M::kFrames : hop_frames)),
        extractor_(model.twiddle_quarter_sin, model.band_edges) {}

  // Consumes samples until a window becomes ready (or all are used); returns how many it consumed. Call it
  // again with the rest after handling the window: `while (n) { k = push(p, n); p += k; n -= k; ... }`.
  int push(const int16_t *samples, int count) {
    int used = 0;
    while (used < count && !ready_) {
      int take = M::kFrame - fill_;
      if (take > count - used)
        take = count - used;
      for (int i = 0; i < take; i++)
        frame_[fill_ + i] = samples[used + i];
      fill_ += take;
      used += take;
      if (fill_ == M::kFrame) {
        fill_ = 0;
        add_frame();
      }
    }
    return used;
  }
  bool window_ready() const { return ready_; }
  // The window's features (FRAMES x BANDS, oldest frame first); valid when window_ready().
  const int8_t *features() const { return features_; }
  // Classify the ready window and clear the ready flag (margins: as for infer()).
  Decision classify(int32_t *logits_out, const int32_t *margins = nullptr) {
    ready_ = false;
    return infer(model_, features_, logits_out, margins);
  }
  // Mean of x^2 over the window (int16 full scale: 2^30): level_db = 10 log10(ms / 2^30) dBFS.
  uint32_t window_mean_square() const {
    uint64_t sum = 0;
    for (int f = 0; f < M::kFrames; f++)
      sum += frame_ms_[f];
    return static_cast<uint32_t>(sum / M::kFrames);
  }
  // Called with every frame's features (BANDS values) and spectrum (FeatureExtractor::spectrum_re/_im) right after
  // they are computed: a plain function and its context, no allocation; null: none.
  using FrameHook = void (*)(void *ctx, const int8_t *features, const int32_t *re, const int32_t *im);
  void set_frame_hook(FrameHook hook, void *ctx) {
    hook_ = hook;
    hook_ctx_ = ctx;
  }
  void reset() {
    fill_ = 0;
    frames_ = 0;
    since_ = 0;
    ready_ = false;
  }

 private:
  void add_frame() {
    constexpr int B = M::kBands;
    for (int i = 0; i < (M::kFrames - 1) * B; i++)
      features_[i] = features_[i + B];  // oldest frame out
    for (int f = 0; f < M::kFrames - 1; f++)
      frame_ms_[f] = frame_ms_[f + 1];
    extractor_.frame(frame_, features_ + (M::kFrames - 1) * B);
    if (hook_ != nullptr)
      hook_(hook_ctx_, features_ + (M::kFrames - 1) * B, extractor_.spectrum_re(), extractor_.spectrum_im());
    uint64_t energy = 0;
    for (int i = 0; i < M::kFrame; i++)
      energy += static_cast<uint32_t>(frame_[i] * frame_[i]);
    frame_ms_[M::kFrames - 1] = static_cast<uint32_t>(energy / M::kFrame);
    if (frames_ < M::kFrames)
      frames_++;
    if (++since_ >= hop_ && frames_ == M::kFrames) {
      since_ = 0;
      ready_ = true;
    }
  }

  // The scalars first, the FFT's large buffers last: RISC-V loads and stores reach 2 KB from `this` in one
  // instruction.
  const M &model_;
  int hop_;
  int fill_ = 0, frames_ = 0, since_ = 0;
  bool ready_ = false;
  FrameHook hook_ = nullptr;
  void *hook_ctx_ = nullptr;
  // The buffers need no initial value: a window is only ready once FRAMES frames have filled them.
  uint32_t frame_ms_[M::kFrames];
  int8_t features_[M::kFeatureBytes];
  int16_t frame_[M::kFrame];
  typename M::Features extractor_;
};

}  // namespace binmoe
