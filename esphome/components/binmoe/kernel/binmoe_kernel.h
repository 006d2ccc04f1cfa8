// BinMoE node kernel: integer features + binarized network + routing decision.
// Header-only C++17, no heap, no floating point in the hot path, buffers sized at compile time.
// It must produce exactly the integers of the Python reference (gpu_backend/edge/features.py, bnn.py).
#pragma once
#include <stdint.h>  // not <cstdint>: bare-metal cross compilers ship no C++ library headers

// ESPHome builds with -Os; the hot loops are worth -O2 (unrolling the int8 dot products saves ~1/3).
#if defined(__GNUC__) && !defined(__clang__)
#define BINMOE_HOT __attribute__((optimize("O2")))
#else
#define BINMOE_HOT
#endif

namespace binmoe {

// ---- features ------------------------------------------------------------------------------------
// One frame of N int16 samples -> BANDS int8 log2 band energies (radix-2 FFT, Q15 twiddles, 1/2 per
// stage). The last ENV_BANDS come from the spectrum of the envelope |x[n] - x[n-1]| / 2 (vibration).
template <int N, int BANDS, int ENV_BANDS = 0> class FeatureExtractor {
  static_assert(N >= 4 && (N & (N - 1)) == 0, "frame size must be a power of two");
  static_assert(ENV_BANDS >= 0 && ENV_BANDS < BANDS, "envelope bands are a part of the bands");
  static constexpr int SPEC_BANDS = BANDS - ENV_BANDS;

 public:
  // cos/sin: N/2 Q15 twiddles; edges: SPEC_BANDS + 1 FFT-bin edges, then ENV_BANDS + 1 more if any
  // (all from the exported model header).
  FeatureExtractor(const int16_t *cos, const int16_t *sin, const uint16_t *edges)
      : cos_(cos), sin_(sin), edges_(edges) {}

  BINMOE_HOT void frame(const int16_t *samples, int8_t *out) {
    fft(samples);
    for (int band = 0; band < SPEC_BANDS; band++) out[band] = band_feature(edges_[band], edges_[band + 1]);
    if (ENV_BANDS > 0) {
      env_[0] = 0;
      for (int i = 1; i < N; i++) {
        const int32_t d = static_cast<int32_t>(samples[i]) - samples[i - 1];
        env_[i] = static_cast<int16_t>((d < 0 ? -d : d) >> 1);
      }
      fft(env_);
      const uint16_t *e = edges_ + SPEC_BANDS + 1;
      for (int band = 0; band < ENV_BANDS; band++) out[SPEC_BANDS + band] = band_feature(e[band], e[band + 1]);
    }
  }

  // floor-ish 8*log2(v): leading-one position and the next three bits.
  static int32_t log2_q3(uint64_t v) {
    if (v < 1) v = 1;
    const int msb = 63 - __builtin_clzll(v);
    const int32_t mant = msb >= 3 ? static_cast<int32_t>((v >> (msb - 3)) & 7) : static_cast<int32_t>((v << (3 - msb)) & 7);
    return msb * 8 + mant;
  }

 private:
  BINMOE_HOT void fft(const int16_t *samples) {
    int bits = 0;
    while ((1 << bits) < N) bits++;
    for (int i = 0; i < N; i++) {
      int r = 0;
      for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      re_[i] = samples[r];
      im_[i] = 0;
    }
    for (int size = 2; size <= N; size <<= 1) {
      const int half = size >> 1, step = N / size;
      for (int start = 0; start < N; start += size) {
        for (int j = 0; j < half; j++) {
          const int64_t wr = cos_[j * step], wi = -static_cast<int64_t>(sin_[j * step]);
          const int a = start + j, b = a + half;
          const int64_t br = re_[b], bi = im_[b];
          const int64_t tr = (br * wr - bi * wi) >> 15;
          const int64_t ti = (br * wi + bi * wr) >> 15;
          const int64_t ar = re_[a], ai = im_[a];
          re_[a] = static_cast<int32_t>((ar + tr) >> 1);
          im_[a] = static_cast<int32_t>((ai + ti) >> 1);
          re_[b] = static_cast<int32_t>((ar - tr) >> 1);
          im_[b] = static_cast<int32_t>((ai - ti) >> 1);
        }
      }
    }
  }
  int8_t band_feature(int lo, int hi) const {
    uint64_t power = 0;
    for (int k = lo; k < hi; k++)
      power += static_cast<uint64_t>(static_cast<int64_t>(re_[k]) * re_[k] + static_cast<int64_t>(im_[k]) * im_[k]);
    const int32_t v = (log2_q3(power) >> 1) - 64;
    return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
  }

  const int16_t *cos_, *sin_;
  const uint16_t *edges_;
  int32_t re_[N], im_[N];  // |values| stay within int16 range: every stage halves them
  int16_t env_[ENV_BANDS > 0 ? N : 1];
};

// ---- network -------------------------------------------------------------------------------------
template <int BANDS, int FRAMES, int C, int CLASSES> class Network {
  static_assert(C <= 32, "binary layers pack one time step of channels into 32 bits");
  static_assert(CLASSES >= 2, "at least two classes");
  static constexpr int K = 3, STRIDE1 = 2;  // L1 halves the time resolution
  static constexpr int T1 = (FRAMES - K) / STRIDE1 + 1, T2 = T1 - 2, T3 = T2 - 2;

 public:
  struct Weights {
    const int8_t *w1;  // [C][K][BANDS]
    const int32_t *t1;
    const int8_t *s1;
    const uint32_t *w2;  // [C][K] rows: input channel c at bit 31 - c
    const int32_t *t2;
    const int8_t *s2;
    const uint32_t *w3;
    const int32_t *t3;
    const int8_t *s3;
    const int8_t *w4;  // [CLASSES][C]
    const int32_t *b4;
    const int32_t *margin_thresholds;
  };
  struct Result {
    int class_idx;
    int32_t margin;
    bool escalate;
    int32_t logits[CLASSES];
  };

  // features: FRAMES x BANDS int8 (frame-major), as FeatureExtractor writes them.
  BINMOE_HOT void infer(const Weights &w, const int8_t *features, Result &out) {
    for (int t = 0; t < T1; t++) {
      uint32_t word = 0;
      for (int o = 0; o < C; o++) {
        int32_t acc = 0;
        const int8_t *wo = w.w1 + o * K * BANDS;
        const int8_t *x = features + t * STRIDE1 * BANDS;  // K consecutive frames: contiguous with wo
#pragma GCC unroll 16
        for (int i = 0; i < K * BANDS; i++) acc += static_cast<int32_t>(wo[i]) * x[i];
        if (static_cast<int64_t>(w.s1[o]) * acc >= w.t1[o]) word |= bit(o);
      }
      a_[t] = word;
    }
    binary_layer(w.w2, w.t2, w.s2, a_, b_, T2);
    binary_layer(w.w3, w.t3, w.s3, b_, a_, T3);
    int32_t centred[C];
    for (int o = 0; o < C; o++) {
      int32_t count = 0;
      for (int t = 0; t < T3; t++) count += (a_[t] >> (31 - o)) & 1;
      centred[o] = 2 * count - T3;
    }
    int best = 0;
    for (int j = 0; j < CLASSES; j++) {
      int32_t acc = w.b4[j];
      for (int o = 0; o < C; o++) acc += static_cast<int32_t>(w.w4[j * C + o]) * centred[o];
      out.logits[j] = acc;
      if (acc > out.logits[best]) best = j;
    }
    int32_t second = INT32_MIN_;
    for (int j = 0; j < CLASSES; j++)
      if (j != best && out.logits[j] > second) second = out.logits[j];
    out.class_idx = best;
    out.margin = out.logits[best] - second;
    out.escalate = out.margin < w.margin_thresholds[best];
  }

 private:
  static constexpr int32_t INT32_MIN_ = -2147483647 - 1;
  static constexpr uint32_t bit(int channel) { return 1u << (31 - channel); }
  static constexpr uint32_t mask() {
    uint32_t m = 0;
    for (int c = 0; c < C; c++) m |= bit(c);
    return m;
  }
  // SWAR popcount: rv32imc has no popcount instruction, and libgcc's is a call.
  static int32_t popcount(uint32_t v) {
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    return static_cast<int32_t>((v * 0x01010101u) >> 24);
  }
  BINMOE_HOT static void binary_layer(const uint32_t *wp, const int32_t *thr, const int8_t *sgn, const uint32_t *in,
                           uint32_t *out, int t_out) {
    for (int t = 0; t < t_out; t++) {
      uint32_t word = 0;
      for (int o = 0; o < C; o++) {
        int32_t matches = 0;
        const uint32_t *rows = wp + o * K;
        for (int k = 0; k < K; k++) matches += popcount(~(rows[k] ^ in[t + k]) & mask());
        const int32_t dot = 2 * matches - C * K;
        if (static_cast<int32_t>(sgn[o]) * dot >= thr[o]) word |= bit(o);
      }
      out[t] = word;
    }
  }
  uint32_t a_[FRAMES];
  uint32_t b_[FRAMES];
};

}  // namespace binmoe
