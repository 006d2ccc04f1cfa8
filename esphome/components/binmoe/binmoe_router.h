// Routing rules and protocol messages of a BinMoE node (docs/protocol.md, section 1). Plain C++ without
// ESPHome so it can be cross-compiled and measured on its own; no heap: every buffer is a member.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "binmoe_runner.h"

namespace esphome::binmoe {

static constexpr int MAX_FEATURE_BYTES = 1024;  // frames x bands of the largest supported model
static constexpr int HISTORY_WINDOWS = 128;     // the escalation-rate sensor averages over this many windows

enum class Outcome : uint8_t {
  NONE,        // an idle class (e.g. background), or a repeat within the detection interval
  DETECTION,   // confident, handled on the node
  ESCALATION,  // for the hub / GPU tier
  DROPPED,     // would have escalated, but the escalation rate limit was reached
};

enum class Reason : uint8_t { LOW_MARGIN, ESCALATE_CLASS, FORCED };

struct ClassRule {
  bool report = true;            // send detections of this class (idle classes: false)
  bool always_escalate = false;  // never handle locally (reason escalate_class)
};

struct RouterConfig {
  uint32_t detection_interval_ms = 10000;   // same class reported again only after this much stream time
  uint32_t max_escalations_per_minute = 6;  // token bucket over stream time; 0 = never escalate
  bool send_features = true;
};

// One routed window: what happened and the fields that vary per message.
struct Routed {
  Outcome outcome = Outcome::NONE;
  Reason reason = Reason::LOW_MARGIN;
};

// The node's fixed identity and its features' shape, filled once at setup.
struct NodeIdentity {
  const char *node_id = "";
  const char *task = "sound";  // protocol `task`: sound | vibration
  const char *model_id = "";
  const char *model_hash8 = "";
  char boot[9] = {};
  int frames = 0, bands = 0;  // of the features an escalation carries
};

// The protocol's field names, in the order messages carry them, one string with NUL separators: with the
// offsets below, 1 byte per field instead of a 4-byte pointer, and each name's length without a strlen().
static constexpr int MAX_FIELDS = 18;
inline constexpr char KEY_NAMES[] =
    "v\0kind\0node_id\0task\0boot\0seq\0uptime_ms\0class\0class_idx\0scores\0margin\0confidence\0model\0"
    "model_hash\0level_db\0reason\0features\0feature_shape";
struct KeyOffsets {
  uint8_t at[MAX_FIELDS + 1];  // field i is KEY_NAMES[at[i] .. at[i + 1] - 1)
};
constexpr KeyOffsets key_offsets() {
  KeyOffsets o{};
  for (int i = 0, field = 0; field < MAX_FIELDS; i++) {
    if (KEY_NAMES[i] == '\0')
      o.at[++field] = static_cast<uint8_t>(i + 1);
  }
  return o;
}
inline constexpr KeyOffsets KEY_OFFSETS = key_offsets();
static_assert(sizeof(KEY_NAMES) < 256 && KEY_OFFSETS.at[MAX_FIELDS] == sizeof(KEY_NAMES), "one name per field");

// A protocol message as string key/value pairs (what ESPHome's Home Assistant events carry).
struct Message {
  static const char *key(int i) { return KEY_NAMES + KEY_OFFSETS.at[i]; }
  static int key_length(int i) { return KEY_OFFSETS.at[i + 1] - KEY_OFFSETS.at[i] - 1; }
  const char *values[MAX_FIELDS];
  int count = 0;

  char seq[12], uptime[12], class_idx[4], margin[12], confidence[12], level[12], shape[12];
  char scores[MAX_CLASSES * 12 + 3];
  char features[(MAX_FEATURE_BYTES + 2) / 3 * 4 + 1];
};

class Router {
 public:
  void configure(const RouterConfig &config, int classes);
  // per-class rules; configure() keeps them, so they may be set before it
  ClassRule &rule(int class_idx) { return rules_[class_idx]; }
  const ClassRule &rule(int class_idx) const { return rules_[class_idx]; }
  const RouterConfig &config() const { return config_; }

  // Escalate the next window whatever its margin (reason `forced`, not rate limited).
  void force_next() { force_next_ = true; }

  // Decide what to do with one classified window; `stream_ms` is the sample clock (samples / rate), so rules behave the
  // same whether samples come live or from a faster-than-real-time replay. It may wrap around 2^32 ms
  // (49.7 days): the rules only use differences of it.
  Routed route(const WindowResult &window, uint32_t stream_ms);

  // Fill `msg` for a DETECTION or ESCALATION of window `w` (the next `seq` is used). features: id.frames x
  // id.bands int8, or null.
  void build_message(const Routed &routed, const WindowResult &w, const char *class_name, float level_db,
                     uint32_t uptime_ms, const NodeIdentity &id, const int8_t *features, Message &msg);

  // Fraction of the last HISTORY_WINDOWS windows whose decision was to escalate (incl. dropped ones).
  float escalation_rate() const;
  uint32_t windows() const { return windows_; }
  uint32_t detections() const { return detections_; }
  uint32_t escalations() const { return escalations_; }
  uint32_t dropped() const { return dropped_; }
  uint32_t next_seq() const { return seq_; }

  static size_t base64(const uint8_t *data, size_t len, char *out);  // NUL-terminated; returns length

 private:
  RouterConfig config_;
  ClassRule rules_[MAX_CLASSES];
  int classes_ = 0;
  uint32_t last_detection_ms_[MAX_CLASSES] = {};
  bool detected_once_[MAX_CLASSES] = {};
  static constexpr uint32_t TOKEN = 60000;  // escalation bucket units per token (ms per minute)
  uint32_t tokens_ = 0;
  uint32_t bucket_ms_ = 0;
  bool bucket_started_ = false;
  bool force_next_ = false;
  uint8_t history_[HISTORY_WINDOWS / 8] = {};
  uint32_t history_count_ = 0;  // escalations among the windows in history_
  uint32_t windows_ = 0, detections_ = 0, escalations_ = 0, dropped_ = 0, seq_ = 0;
};

}  // namespace esphome::binmoe
