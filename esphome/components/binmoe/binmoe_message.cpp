#include "binmoe_message.h"

#include <stdio.h>
#include <string.h>

namespace esphome::binmoe {

// The base64 digit of a 6-bit value (RFC 4648 alphabet), computed: smaller than a 64-byte table.
static char base64_digit(uint32_t v) {
  v &= 63;
  return static_cast<char>(v < 26 ? 'A' + v : v < 52 ? 'a' + v - 26 : v < 62 ? '0' + v - 52 : v == 62 ? '+' : '/');
}

// Decimal text of `v` as printf's %u (or %d) writes it, NUL-terminated; returns the NUL's address. A dozen
// integer fields per message: one small loop instead of a snprintf call each.
static char *put_uint(char *out, uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0)
    *out++ = digits[--n];
  *out = '\0';
  return out;
}
static char *put_int(char *out, int32_t v) {
  if (v < 0) {
    *out++ = '-';
    return put_uint(out, 0u - static_cast<uint32_t>(v));
  }
  return put_uint(out, static_cast<uint32_t>(v));
}

size_t base64(const uint8_t *data, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    const uint32_t b0 = data[i], b1 = i + 1 < len ? data[i + 1] : 0, b2 = i + 2 < len ? data[i + 2] : 0;
    const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
    const int rest = static_cast<int>(len - i);  // bytes left: 1 or 2 end the output with '=' padding
    for (int k = 0; k < 4; k++)
      out[o + k] = k <= rest ? base64_digit(triple >> (18 - 6 * k)) : '=';
    o += 4;
  }
  out[o] = '\0';
  return o;
}

void Outbox::init(uint8_t *arena, size_t bytes, int classes) {
  this->arena_ = arena;
  this->slot_bytes_ = queued_slot_bytes(classes);
  this->capacity_ = arena != nullptr ? static_cast<int>(bytes / this->slot_bytes_) : 0;
  this->head_ = this->size_ = 0;
}

QueuedWindow &Outbox::push() {
  if (this->size_ == this->capacity_) {
    this->pop();  // full: the oldest goes
    this->dropped_++;
  }
  const int back = (this->head_ + this->size_) % this->capacity_;
  this->size_++;
  // the arena is unsigned char storage: a slot's QueuedWindow exists there implicitly (C++20), no allocation
  QueuedWindow &q = *this->slot_(back);
  q = QueuedWindow{};
  return q;
}

void Outbox::pop() {
  if (this->size_ == 0)
    return;
  this->head_ = (this->head_ + 1) % this->capacity_;
  this->size_--;
}

void MessageBuilder::build(const Routed &routed, const WindowResult &w, const char *class_name, float level_db,
                           uint32_t uptime_ms, const NodeIdentity &id, const int8_t *features, Message &msg) {
  this->fill_(this->seq_++, routed, w, class_name, level_db, uptime_ms, id, features, this->has_anomaly_,
              this->anomaly_score_, this->anomaly_threshold_, msg);
}

void MessageBuilder::queue(const Routed &routed, const WindowResult &w, float level_db, uint32_t uptime_ms,
                           Outbox &outbox) {
  QueuedWindow &q = outbox.push();
  q.routed = routed;
  q.class_idx = static_cast<int8_t>(w.class_idx);
  q.margin = w.margin;
  q.confidence = w.confidence;
  q.level_db = level_db;
  q.uptime_ms = uptime_ms;
  q.seq = this->seq_++;
  q.has_anomaly = this->has_anomaly_;
  q.anomaly_score = this->anomaly_score_;
  q.anomaly_threshold = this->anomaly_threshold_;
  memcpy(Outbox::logits(q), w.logits, sizeof(int32_t) * this->classes_);
}

void MessageBuilder::build_queued(const QueuedWindow &q, const char *class_name, uint32_t now_ms,
                                  const NodeIdentity &id, Message &msg) const {
  WindowResult w{};  // what fill_() reads of the window
  w.class_idx = q.class_idx;
  w.margin = q.margin;
  w.confidence = q.confidence;
  memcpy(w.logits, Outbox::logits(q), sizeof(int32_t) * this->classes_);
  this->fill_(q.seq, q.routed, w, class_name, q.level_db, q.uptime_ms, id, nullptr, q.has_anomaly, q.anomaly_score,
              q.anomaly_threshold, msg);
  put_uint(msg.queued_ms, now_ms - q.uptime_ms);
  msg.values[FIELD_QUEUED_MS] = msg.queued_ms;
}

void MessageBuilder::fill_(uint32_t seq, const Routed &routed, const WindowResult &w, const char *class_name,
                           float level_db, uint32_t uptime_ms, const NodeIdentity &id, const int8_t *features,
                           bool has_anomaly, uint32_t anomaly_score, uint32_t anomaly_threshold, Message &msg) const {
  const bool escalation = routed.outcome == Outcome::ESCALATION;
  // the buffers hold any 32-bit value (12 bytes), class_idx and event_windows the two digits they can have
  put_uint(msg.seq, seq);
  put_uint(msg.uptime, uptime_ms);
  // an alarm event recognised by its temporal code reports the code's class; its confidence is 1 (a code
  // match, not the model's probability), scores and margin stay the window's
  const bool code = routed.code_class >= 0;
  put_int(msg.class_idx, routed.reported_class(w.class_idx));
  put_int(msg.margin, w.margin);
  snprintf(msg.confidence, sizeof(msg.confidence), "%.4f", code ? 1.0 : static_cast<double>(w.confidence));
  snprintf(msg.level, sizeof(msg.level), "%.1f", static_cast<double>(level_db));
  char *pos = msg.scores;  // at most 11 characters and a comma per class: set_classes() keeps classes_ <= MAX_CLASSES
  *pos++ = '[';
  for (int j = 0; j < this->classes_; j++) {
    if (j > 0)
      *pos++ = ',';
    pos = put_int(pos, w.logits[j]);
  }
  *pos++ = ']';
  *pos = '\0';

  const char **v = msg.values;  // in KEY_NAMES order
  v[0] = "1";
  v[1] = escalation ? "escalation" : "detection";
  v[2] = id.node_id;
  v[3] = id.task;
  v[4] = id.boot;
  v[5] = msg.seq;
  v[6] = msg.uptime;
  v[7] = class_name;
  v[8] = msg.class_idx;
  v[9] = msg.scores;
  v[10] = msg.margin;
  v[11] = msg.confidence;
  v[12] = id.model_id;
  v[13] = id.model_hash8;
  v[14] = msg.level;
  static const char *const REASONS[] = {"low_margin", "escalate_class", "forced", "anomaly"};
  v[FIELD_REASON] = escalation ? REASONS[static_cast<int>(routed.reason)] : nullptr;
  v[FIELD_EVENT_WINDOWS] = v[FIELD_EVENT_SPAN_MS] = v[FIELD_FEATURES] = v[FIELD_FEATURE_SHAPE] = nullptr;
  v[FIELD_ANOMALY_SCORE] = v[FIELD_ANOMALY_THRESHOLD] = nullptr;
  v[FIELD_SHAFT_RPM] = v[FIELD_BEARING] = v[FIELD_CAPTURE] = v[FIELD_CAPTURE_RATE] = nullptr;
  v[FIELD_ALARM_CODE] = v[FIELD_QUEUED_MS] = v[FIELD_CAPTURE_ENCODING] = v[FIELD_BASELINE_RPM] = nullptr;
  v[FIELD_ALARM_ACTIVE] = nullptr;
#ifdef USE_BINMOE_ALARM_CODE
  static const char *const CODES[] = {nullptr, "T3", "T4"};
  if (code)
    v[FIELD_ALARM_CODE] = CODES[routed.code];
#endif
#ifdef USE_BINMOE_BASELINE  // without it nothing calls set_anomaly(): has_anomaly is false
  if (has_anomaly) {
    put_uint(msg.anomaly_score, anomaly_score);
    put_uint(msg.anomaly_threshold, anomaly_threshold);
    v[FIELD_ANOMALY_SCORE] = msg.anomaly_score;
    v[FIELD_ANOMALY_THRESHOLD] = msg.anomaly_threshold;
  }
#endif
#ifdef USE_BINMOE_ALARM_EVENTS  // without it the router reports no events: event_span is 0
  // the hub takes the node's escalations made while its alarm sounds as part of it (docs/protocol.md)
  if (routed.alarm_active >= 0)
    v[FIELD_ALARM_ACTIVE] = routed.alarm_active ? "true" : "false";
  if (routed.event_span > 0) {
    // the span in stream time, rounded to the millisecond (span <= 32 windows: fits 32 bits for any hop)
    const uint32_t rate = static_cast<uint32_t>(id.sample_rate);
    const uint32_t span_ms = (routed.event_span * static_cast<uint32_t>(id.hop_samples) * 1000u + rate / 2) / rate;
    put_uint(msg.event_windows, routed.event_windows);  // <= MAX_EVENT_SPAN (32)
    put_uint(msg.event_span_ms, span_ms);
    v[FIELD_EVENT_WINDOWS] = msg.event_windows;
    v[FIELD_EVENT_SPAN_MS] = msg.event_span_ms;
  }
#endif
  const int bytes = id.frames * id.bands;
  if (escalation && this->send_features_ && features != nullptr && bytes > 0 && bytes <= MAX_FEATURE_BYTES) {
    base64(reinterpret_cast<const uint8_t *>(features), static_cast<size_t>(bytes), msg.features);
    char *x = put_int(msg.shape, id.frames);  // bytes <= MAX_FEATURE_BYTES: a few digits each
    *x++ = 'x';
    put_int(x, id.bands);
    v[FIELD_FEATURES] = msg.features;
    v[FIELD_FEATURE_SHAPE] = msg.shape;
  }
}

}  // namespace esphome::binmoe
