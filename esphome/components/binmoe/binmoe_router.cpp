#include "binmoe_router.h"

#include <stdio.h>
#include <string.h>

namespace esphome::binmoe {

void Router::configure(const RouterConfig &config, int classes) {
  config_ = config;
  classes_ = classes < MAX_CLASSES ? classes : MAX_CLASSES;
  tokens_ = static_cast<uint64_t>(config_.max_escalations_per_minute) * TOKEN;
  bucket_started_ = false;
}

Routed Router::route(const Decision &decision, uint64_t stream_ms) {
  Routed out;
  const int c = decision.class_idx;
  // refill the escalation bucket: max_per_minute tokens per minute (exact: one token = TOKEN units, and
  // one ms adds max_per_minute units), capped at max_per_minute tokens
  const uint64_t capacity = static_cast<uint64_t>(config_.max_escalations_per_minute) * TOKEN;
  if (bucket_started_ && stream_ms > bucket_ms_) {
    tokens_ += (stream_ms - bucket_ms_) * config_.max_escalations_per_minute;
    if (tokens_ > capacity) tokens_ = capacity;
  }
  bucket_ms_ = stream_ms;
  bucket_started_ = true;

  bool escalate = decision.escalate;
  if (c >= 0 && c < classes_ && rules_[c].always_escalate) {
    escalate = true;
    out.reason = Reason::ESCALATE_CLASS;
  }
  if (force_next_) {
    force_next_ = false;
    escalate = true;
    out.reason = Reason::FORCED;
  }
  const int slot = windows_ % HISTORY_WINDOWS;
  if (escalate)
    history_[slot / 8] |= static_cast<uint8_t>(1u << (slot % 8));
  else
    history_[slot / 8] &= static_cast<uint8_t>(~(1u << (slot % 8)));
  windows_++;

  if (escalate) {
    if (out.reason != Reason::FORCED) {
      if (tokens_ < TOKEN) {
        dropped_++;
        out.outcome = Outcome::DROPPED;
        return out;
      }
      tokens_ -= TOKEN;
    }
    escalations_++;
    out.outcome = Outcome::ESCALATION;
    return out;
  }
  if (c < 0 || c >= classes_ || !rules_[c].report) return out;
  if (detected_once_[c] && stream_ms - last_detection_ms_[c] < config_.detection_interval_ms) return out;
  detected_once_[c] = true;
  last_detection_ms_[c] = stream_ms;
  detections_++;
  out.outcome = Outcome::DETECTION;
  return out;
}

float Router::escalation_rate() const {
  const uint32_t n = windows_ < HISTORY_WINDOWS ? windows_ : HISTORY_WINDOWS;
  if (n == 0) return 0.0f;
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) count += (history_[i / 8] >> (i % 8)) & 1u;
  return static_cast<float>(count) / static_cast<float>(n);
}

size_t Router::base64(const uint8_t *data, size_t len, char *out) {
  static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    const uint32_t b0 = data[i], b1 = i + 1 < len ? data[i + 1] : 0, b2 = i + 2 < len ? data[i + 2] : 0;
    const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
    out[o++] = ALPHABET[(triple >> 18) & 63];
    out[o++] = ALPHABET[(triple >> 12) & 63];
    out[o++] = i + 1 < len ? ALPHABET[(triple >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? ALPHABET[triple & 63] : '=';
  }
  out[o] = '\0';
  return o;
}

void Router::build_message(const Routed &routed, const Decision &decision, const int32_t *logits,
                           int classes, const char *class_name, float confidence, float level_db,
                           uint32_t uptime_ms, const NodeIdentity &id, const int8_t *features, int frames,
                           int bands, Message &msg) {
  msg.count = 0;
  auto add = [&msg](const char *key, const char *value) {
    msg.keys[msg.count] = key;
    msg.values[msg.count] = value;
    msg.count++;
  };
  const bool escalation = routed.outcome == Outcome::ESCALATION;
  snprintf(msg.seq, sizeof(msg.seq), "%u", static_cast<unsigned>(seq_++));
  snprintf(msg.uptime, sizeof(msg.uptime), "%u", static_cast<unsigned>(uptime_ms));
  snprintf(msg.class_idx, sizeof(msg.class_idx), "%d", decision.class_idx);
  snprintf(msg.margin, sizeof(msg.margin), "%d", static_cast<int>(decision.margin));
  snprintf(msg.confidence, sizeof(msg.confidence), "%.4f", static_cast<double>(confidence));
  snprintf(msg.level, sizeof(msg.level), "%.1f", static_cast<double>(level_db));
  size_t pos = 0;
  msg.scores[pos++] = '[';
  for (int j = 0; j < classes && j < MAX_CLASSES; j++) {
    pos += snprintf(msg.scores + pos, sizeof(msg.scores) - pos, j ? ",%d" : "%d", static_cast<int>(logits[j]));
  }
  msg.scores[pos++] = ']';
  msg.scores[pos] = '\0';

  add("v", "1");
  add("kind", escalation ? "escalation" : "detection");
  add("node_id", id.node_id);
  add("task", id.task);
  add("boot", id.boot);
  add("seq", msg.seq);
  add("uptime_ms", msg.uptime);
  add("class", class_name);
  add("class_idx", msg.class_idx);
  add("scores", msg.scores);
  add("margin", msg.margin);
  add("confidence", msg.confidence);
  add("model", id.model_id);
  add("model_hash", id.model_hash8);
  add("level_db", msg.level);
  if (!escalation) return;
  static const char *const REASONS[] = {"low_margin", "escalate_class", "forced"};
  add("reason", REASONS[static_cast<int>(routed.reason)]);
  const int bytes = frames * bands;
  if (config_.send_features && features != nullptr && bytes > 0 && bytes <= MAX_FEATURE_BYTES) {
    base64(reinterpret_cast<const uint8_t *>(features), static_cast<size_t>(bytes), msg.features);
    snprintf(msg.shape, sizeof(msg.shape), "%dx%d", frames, bands);
    add("features", msg.features);
    add("feature_shape", msg.shape);
  }
}

}  // namespace esphome::binmoe
