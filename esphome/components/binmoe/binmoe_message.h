// Protocol messages of a BinMoE node (docs/protocol.md, section 1): a routed window as the string key/value pairs
// of a Home Assistant event. Plain C++ without ESPHome, like the router; no heap: every buffer is a member.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "binmoe_router.h"
#include "binmoe_runner.h"

namespace esphome::binmoe {

static constexpr int MAX_FEATURE_BYTES = 1024;  // frames x bands of the largest supported model

// The node's fixed identity, its features' shape and its window clock, filled once at setup.
struct NodeIdentity {
  const char *node_id = "";
  const char *task = "sound";  // protocol `task`: sound | vibration
  const char *model_id = "";
  const char *model_hash8 = "";
  char boot[9] = {};
  int frames = 0, bands = 0;  // of the features an escalation carries
  int32_t sample_rate = 0;    // with hop_samples: an event's span in milliseconds
  int hop_samples = 0;
};

// The protocol's field names, in the order messages carry them, one string with NUL separators: with the
// offsets below, 2 bytes per field instead of a 4-byte pointer, and each name's length without a strlen().
static constexpr int MAX_FIELDS = 31;
inline constexpr char KEY_NAMES[] =
    "v\0kind\0node_id\0task\0boot\0seq\0uptime_ms\0class\0class_idx\0scores\0margin\0confidence\0model\0"
    "model_hash\0level_db\0reason\0event_windows\0event_span_ms\0features\0feature_shape\0anomaly_score\0"
    "anomaly_threshold\0shaft_rpm\0bearing\0capture\0capture_rate\0alarm_code\0queued_ms\0capture_encoding\0"
    "baseline_rpm\0alarm_active";
enum Field : uint8_t {  // KEY_NAMES indices of the optional fields (those before are in every message)
  FIELD_REASON = 15,
  FIELD_EVENT_WINDOWS,
  FIELD_EVENT_SPAN_MS,
  FIELD_FEATURES,
  FIELD_FEATURE_SHAPE,
  FIELD_ANOMALY_SCORE,
  FIELD_ANOMALY_THRESHOLD,
  FIELD_SHAFT_RPM,  // fault identification in shaft orders: set by the component after build()
  FIELD_BEARING,
  FIELD_CAPTURE,
  FIELD_CAPTURE_RATE,
  FIELD_ALARM_CODE,
  FIELD_QUEUED_MS,
  FIELD_CAPTURE_ENCODING,  // set with FIELD_CAPTURE when the capture is IMA ADPCM (absent: int16 samples)
  FIELD_BASELINE_RPM,      // with FIELD_SHAFT_RPM: the speeds the learnt baseline in force saw
  FIELD_ALARM_ACTIVE       // nodes with alarm-event rules: whether one of their alarms was going on
};
struct KeyOffsets {
  uint16_t at[MAX_FIELDS + 1];  // field i is KEY_NAMES[at[i] .. at[i + 1] - 1)
};
constexpr KeyOffsets key_offsets() {
  KeyOffsets o{};
  for (int i = 0, field = 0; field < MAX_FIELDS; i++) {
    if (KEY_NAMES[i] == '\0')
      o.at[++field] = static_cast<uint16_t>(i + 1);
  }
  return o;
}
inline constexpr KeyOffsets KEY_OFFSETS = key_offsets();
static_assert(sizeof(KEY_NAMES) < 65536 && KEY_OFFSETS.at[MAX_FIELDS] == sizeof(KEY_NAMES), "one name per field");

// A protocol message as string key/value pairs (what ESPHome's Home Assistant events carry): values[i] is the
// value of field i of KEY_NAMES, null for an optional field the message does not have.
struct Message {
  static const char *key(int i) { return KEY_NAMES + KEY_OFFSETS.at[i]; }
  static int key_length(int i) { return KEY_OFFSETS.at[i + 1] - KEY_OFFSETS.at[i] - 1; }
  const char *values[MAX_FIELDS];

  char seq[12], uptime[12], class_idx[4], margin[12], confidence[12], level[12], shape[12];
  char event_windows[4], event_span_ms[12], anomaly_score[12], anomaly_threshold[12], queued_ms[12];
  char scores[MAX_CLASSES * 12 + 3];
  char features[(MAX_FEATURE_BYTES + 2) / 3 * 4 + 1];
};

// A routed window kept for later (store and forward, docs/protocol.md): what its message needs, with its `seq`
// taken when it was made, except the features and a capture (too large to keep; a queued escalation goes
// without them). In an outbox slot it is followed by the window's logits, one int32 per class of the model.
struct QueuedWindow {
  Routed routed;  // 6 bytes: with the next two, the int32 fields stay 4-byte aligned without padding
  int8_t class_idx;
  bool has_anomaly;
  int32_t margin;
  float confidence, level_db;
  uint32_t uptime_ms, seq;
  uint32_t anomaly_score, anomaly_threshold;
};
static_assert(sizeof(Routed) == 6, "a Routed grew: check the outbox slot's padding");
// Bytes of one outbox slot for a model of `classes` classes.
constexpr size_t queued_slot_bytes(int classes) { return sizeof(QueuedWindow) + size_t(classes) * sizeof(int32_t); }

// The messages a node made while no hub could hear it, oldest first, in slots of an arena the owner provides
// (no heap; 4-byte aligned). When it is full, the oldest is dropped (the hub counts its seq as lost).
class Outbox {
 public:
  // As many slots of queued_slot_bytes(classes) as `bytes` hold.
  void init(uint8_t *arena, size_t bytes, int classes);
  int capacity() const { return this->capacity_; }
  int size() const { return this->size_; }
  bool empty() const { return this->size_ == 0; }
  uint32_t dropped() const { return this->dropped_; }
  // The slot for one more message (capacity() > 0), at the back; when full it takes the oldest's place.
  QueuedWindow &push();
  const QueuedWindow &front() const { return *this->slot_(this->head_); }
  void pop();
  // The logits stored after a slot's window.
  static int32_t *logits(QueuedWindow &q) { return reinterpret_cast<int32_t *>(&q + 1); }
  static const int32_t *logits(const QueuedWindow &q) { return reinterpret_cast<const int32_t *>(&q + 1); }

 protected:
  QueuedWindow *slot_(int i) const { return reinterpret_cast<QueuedWindow *>(this->arena_ + i * this->slot_bytes_); }
  uint8_t *arena_{nullptr};
  size_t slot_bytes_{0};
  int capacity_{0}, head_{0}, size_{0};
  uint32_t dropped_{0};
};

// Numbers the node's messages (`seq`, from 0 at boot) and fills them in.
class MessageBuilder {
 public:
  // `scores` lists this many classes (at most MAX_CLASSES).
  void set_classes(int classes) { this->classes_ = classes < MAX_CLASSES ? classes : MAX_CLASSES; }
  // Escalations carry the window's features (base64) when set.
  void set_send_features(bool send_features) { this->send_features_ = send_features; }
  bool send_features() const { return this->send_features_; }
  uint32_t next_seq() const { return this->seq_; }
  // The per-machine baseline's score and threshold of the next messages' window (set per window while a
  // baseline is in force; cleared with has = false): every message then carries them.
  void set_anomaly(bool has, uint32_t score, uint32_t threshold) {
    this->has_anomaly_ = has;
    this->anomaly_score_ = score;
    this->anomaly_threshold_ = threshold;
  }

  // Fill `msg` for a DETECTION or ESCALATION of window `w` (the next `seq` is used), with the event fields when
  // `routed` is an alarm event's report. features: id.frames x id.bands int8, or null.
  void build(const Routed &routed, const WindowResult &w, const char *class_name, float level_db, uint32_t uptime_ms,
             const NodeIdentity &id, const int8_t *features, Message &msg);
  // Keep window `w` for later in the outbox (capacity() > 0): takes the next `seq` and the anomaly fields, as
  // build() would.
  void queue(const Routed &routed, const WindowResult &w, float level_db, uint32_t uptime_ms, Outbox &outbox);
  // Fill `msg` for a queued window, sent at uptime `now_ms`: its own seq and uptime, `queued_ms`, no features.
  void build_queued(const QueuedWindow &q, const char *class_name, uint32_t now_ms, const NodeIdentity &id,
                    Message &msg) const;

 protected:
  void fill_(uint32_t seq, const Routed &routed, const WindowResult &w, const char *class_name, float level_db,
             uint32_t uptime_ms, const NodeIdentity &id, const int8_t *features, bool has_anomaly,
             uint32_t anomaly_score, uint32_t anomaly_threshold, Message &msg) const;

  uint32_t seq_{0};
  int classes_{0};
  bool send_features_{true};
  bool has_anomaly_{false};
  uint32_t anomaly_score_{0}, anomaly_threshold_{0};
};

// RFC 4648 base64 of `len` bytes into `out`, NUL-terminated; returns the length.
size_t base64(const uint8_t *data, size_t len, char *out);
// Bytes of the base64 text of `len` bytes, its NUL included.
constexpr size_t base64_size(size_t len) { return (len + 2) / 3 * 4 + 1; }
// Where `len` bytes go in a buffer of base64_size(len) so that base64_in_place() can encode them there.
constexpr size_t base64_in_place_offset(size_t len) { return base64_size(len) - 1 - len; }
// base64 of the `len` bytes at buf + base64_in_place_offset(len), into buf itself: each 3-byte group is read
// before its 4 digits are written, and the digits of group k end before group k + 1 starts (the offset is at
// least the number of groups), so one buffer holds the data and then its text. Returns the text's length.
inline size_t base64_in_place(char *buf, size_t len) {
  return base64(reinterpret_cast<const uint8_t *>(buf) + base64_in_place_offset(len), len, buf);
}

}  // namespace esphome::binmoe
