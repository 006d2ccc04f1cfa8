#include "binmoe_component.h"

#include <string.h>

#include "esphome/core/application.h"
#include "esphome/core/hal.h"
#include "esphome/core/log.h"

#ifdef BINMOE_HA_EVENTS
#include "esphome/components/api/api_server.h"
#endif

namespace esphome::binmoe {

static const char *const TAG = "binmoe";

void BinMoEComponent::setup() {
  router_.configure(router_config_, runner_->classes());
  for (int i = 0; i < runner_->classes() && i < ROUTER_MAX_CLASSES; i++) router_.rule(i) = pending_rules_[i];
  identity_.node_id = App.get_name().c_str();
  identity_.model_id = runner_->model_id();
  strncpy(identity_.model_hash8, runner_->model_hash(), 8);
  identity_.model_hash8[8] = '\0';
  snprintf(identity_.boot, sizeof(identity_.boot), "%08x", static_cast<unsigned>(random_uint32()));
#ifdef BINMOE_HA_EVENTS
  request_.data.init(Message::MAX_FIELDS);  // once: messages reuse it, so sending does not allocate here
  request_.is_event = true;
#endif
#ifdef USE_BINMOE_MICROPHONE
  if (microphone_source_ != nullptr) {
    // Runs in the microphone's task: only copies into the ring (16-bit mono, little endian).
    microphone_source_->add_data_callback([this](const std::vector<uint8_t> &data) {
      ring_.write(reinterpret_cast<const int16_t *>(data.data()), static_cast<int>(data.size() / 2));
    });
    microphone_source_->start();
  }
#endif
#ifdef USE_TEXT_SENSOR
  if (model_sensor_ != nullptr) {
    char version[48];
    snprintf(version, sizeof(version), "%s (%s)", identity_.model_id, identity_.model_hash8);
    model_sensor_->publish_state(version);
  }
#endif
}

void BinMoEComponent::loop() {
  int windows = 0;
  const int16_t *samples;
  int n;
  while (windows < MAX_WINDOWS_PER_LOOP && (n = ring_.peek(&samples)) > 0) {
    const int used = runner_->push(samples, n);
    ring_.consume(used);
    stream_samples_ += static_cast<uint64_t>(used);
    if (runner_->window_ready()) {
      handle_window_();
      windows++;
    }
  }
  const uint32_t overruns = ring_.overruns();
  if (overruns != overruns_reported_) {
    ESP_LOGW(TAG, "sample buffer overrun: %u samples lost so far (loop() too slow)", static_cast<unsigned>(overruns));
    overruns_reported_ = overruns;
  }
}

void BinMoEComponent::handle_window_() {
  const uint32_t started = micros();
  runner_->classify(window_);
  const uint32_t elapsed = micros() - started;
  inference_us_sum_ += elapsed;
  inference_count_++;
  const Decision &d = window_.decision;
  const float confidence = window_.confidence;
  const float level_db = window_.level_dbfs + level_offset_db_;
  last_confidence_ = confidence;
  const uint64_t stream_ms = stream_samples_ * 1000u / static_cast<uint64_t>(runner_->sample_rate());
  const Routed routed = router_.route(d, stream_ms);
  const char *name = runner_->class_name(d.class_idx);
  ESP_LOGV(TAG, "window: %s margin %d confidence %.2f -> %d", name, static_cast<int>(d.margin), confidence,
           static_cast<int>(routed.outcome));
  switch (routed.outcome) {
    case Outcome::DETECTION: {
      ESP_LOGD(TAG, "detection: %s (confidence %.2f, margin %d)", name, confidence, static_cast<int>(d.margin));
      send_message_(routed, window_, confidence, level_db);
#ifdef USE_EVENT
      if (detection_event_ != nullptr) detection_event_->trigger(name);
#endif
      for (auto *trigger : detection_triggers_)
        if (trigger->accepts(d.class_idx)) trigger->trigger(name, confidence);
      break;
    }
    case Outcome::ESCALATION: {
      ESP_LOGD(TAG, "escalation: %s (confidence %.2f, margin %d)", name, confidence, static_cast<int>(d.margin));
      send_message_(routed, window_, confidence, level_db);
      for (auto *trigger : escalation_triggers_)
        if (trigger->accepts(d.class_idx)) trigger->trigger(name, confidence);
      break;
    }
    case Outcome::DROPPED:
      ESP_LOGD(TAG, "escalation of %s dropped: over %u per minute", name,
               static_cast<unsigned>(router_config_.max_escalations_per_minute));
      break;
    case Outcome::NONE:
      break;
  }
}

void BinMoEComponent::send_message_(const Routed &routed, const WindowResult &window, float confidence,
                                    float level_db) {
  const Decision &d = window.decision;
  router_.build_message(routed, d, window.logits, runner_->classes(), runner_->class_name(d.class_idx), confidence,
                        level_db, millis(), identity_, runner_->features(), runner_->feature_frames(),
                        runner_->feature_bands(), message_);
#ifdef BINMOE_HA_EVENTS
  if (api::global_api_server == nullptr || !api::global_api_server->is_connected())
    return;  // the hub counts the seq gap as lost messages
  request_.service = StringRef(routed.outcome == Outcome::ESCALATION ? "esphome.binmoe_escalation"
                                                                      : "esphome.binmoe_detection");
  request_.data.clear();
  for (int i = 0; i < message_.count; i++) {
    auto &kv = request_.data.emplace_back();
    kv.key = StringRef(message_.keys[i]);
    kv.value = StringRef(message_.values[i]);
  }
  api::global_api_server->send_homeassistant_action(request_);
#endif
}

void BinMoEComponent::update() {
#ifdef USE_SENSOR
  if (confidence_sensor_ != nullptr && !std::isnan(last_confidence_)) confidence_sensor_->publish_state(last_confidence_ * 100.0f);
  if (inference_time_sensor_ != nullptr && inference_count_ > 0)
    inference_time_sensor_->publish_state(static_cast<float>(inference_us_sum_) / static_cast<float>(inference_count_));
  if (escalation_rate_sensor_ != nullptr && router_.windows() > 0)
    escalation_rate_sensor_->publish_state(router_.escalation_rate() * 100.0f);
#endif
  inference_us_sum_ = 0;
  inference_count_ = 0;
}

void BinMoEComponent::dump_config() {
  ESP_LOGCONFIG(TAG,
                "BinMoE node:\n"
                "  Model: %s (%.8s), %d classes\n"
                "  Sample rate: %d Hz, window %d samples, hop %d samples\n"
                "  Detection interval: %u ms, max escalations/min: %u, features in escalations: %s",
                runner_->model_id(), runner_->model_hash(), runner_->classes(), static_cast<int>(runner_->sample_rate()),
                runner_->window_samples(), runner_->hop_samples(),
                static_cast<unsigned>(router_config_.detection_interval_ms),
                static_cast<unsigned>(router_config_.max_escalations_per_minute),
                YESNO(router_config_.send_features));
  for (int i = 0; i < runner_->classes(); i++) {
    ESP_LOGCONFIG(TAG, "  Class %d %s: margin threshold %d%s%s", i, runner_->class_name(i),
                  static_cast<int>(runner_->margin_threshold(i)), pending_rules_[i].report ? "" : ", not reported",
                  pending_rules_[i].always_escalate ? ", always escalates" : "");
  }
}


}  // namespace esphome::binmoe
