// Broker::Impl: the background work (Kafka's kafka-scheduler), the dynamic broker, topic and
// user configs re-read from ZooKeeper, and the leaders' ISR change path.
#include <glog/logging.h>

#include "server/broker_impl.h"

namespace gregor::server {

// Re-reads /config/brokers/<id> and /config/brokers/<default> and applies what changed
// (blocking ZooKeeper calls). Serialized: notifications and AlterConfigs may race.
void Broker::Impl::ReloadBrokerConfig() {
  std::lock_guard<std::mutex> lock(dynamic_mu);
  auto mine = zk->GetEntityConfig("brokers", std::to_string(config.broker_id));
  auto defaults = zk->GetEntityConfig("brokers", zk::paths::kDefaultEntity);
  if (!mine.ok() || !defaults.ok()) {
    LOG(WARNING) << Prefix() << "cannot read the dynamic broker configs: "
                 << (!mine.ok() ? mine.status() : defaults.status()).ToString();
    return;
  }
  std::vector<std::string> warnings;
  std::vector<std::string> changed = dynamic->Update(*mine, *defaults, &warnings);
  for (const auto& w : warnings) LOG(WARNING) << Prefix() << "dynamic broker config: " << w;
  if (changed.empty()) return;
  std::string names;
  for (const auto& c : changed) names += (names.empty() ? "" : ", ") + c;
  LOG(INFO) << Prefix() << "dynamic broker configs changed: " << names;
  auto now = dynamic->Current();
  if (connection_quotas) connection_quotas->Reconfigure(ConnectionQuotaOptionsOf(*now));
  ApplyReplicationRates(*now);
  if (replicas) replicas->RefreshAllLogConfigs();
  if (logs) logs->SetAlterLogDirsThrottle(now->replica_alter_log_dirs_io_max_bytes_per_second);
}

// Reads /config/topics/<t> into the store (blocking ZooKeeper call).
void Broker::Impl::ReloadTopicConfig(const std::string& topic) {
  auto cfg = zk->GetTopicConfig(topic);
  if (cfg.ok()) {
    ApplyThrottledReplicas(topic, *cfg);
    topic_configs.Set(topic, *cfg);
  } else if (cfg.status().code() == Status::Code::kNotFound) {
    ApplyThrottledReplicas(topic, {});
    topic_configs.Erase(topic);
  } else {
    LOG(WARNING) << Prefix() << "cannot read config of topic " << topic << ": "
                 << cfg.status().ToString();
    return;
  }
  if (replicas) replicas->RefreshLogConfig(topic);
}

// Re-reads one user's SCRAM credentials (`sanitized`: the znode name under /config/users).
void Broker::Impl::ReloadUser(const std::string& sanitized) {
  auto user = zk::paths::DesanitizeEntityName(sanitized);
  if (!user.ok()) {
    LOG(WARNING) << Prefix() << "ignoring /config/users/" << sanitized << ": "
                 << user.status().message();
    return;
  }
  auto cfg = zk->GetEntityConfig("users", sanitized);
  if (!cfg.ok()) {
    LOG(WARNING) << Prefix() << "cannot read the config of user " << *user << ": "
                 << cfg.status().ToString();
    return;
  }
  scram_credentials.Update(*user, *cfg);
}

// Background work off the network threads: retention, flushes,
// checkpoints (Kafka's kafka-scheduler).
// Leaders record ISR changes in the partition's state znode, conditional on its version
// (Kafka's ZooKeeper-mode path below IBP 2.7-IV2); the controller learns of them from the
// notification. From IBP 2.7-IV2 on they go to the controller in AlterPartition.
void Broker::Impl::WriteIsr(cluster::IsrChange c, std::function<void(Result<int32_t>)> done) {
  if (alter_partition) {
    alter_partition->Submit(std::move(c), std::move(done));
    return;
  }
  asio::post(blocking_pool, [this, c = std::move(c), done = std::move(done)] {
    zk::LeaderIsrAndControllerEpoch s;
    s.leader = c.leader;
    s.leader_epoch = c.leader_epoch;
    s.isr = c.isr;
    s.controller_epoch = c.controller_epoch;
    s.zk_version = c.zk_version;
    auto v = zk->UpdateLeaderAndIsr(c.tp, s);
    if (v.ok()) {
      std::lock_guard<std::mutex> lock(isr_mu);
      int64_t now = clock->MonotonicMs();
      if (isr_changed.empty()) isr_first_change_ms = now;
      isr_last_change_ms = now;
      isr_changed.insert(c.tp);
    }
    done(std::move(v));
  });
}

// Sends the ISR change notification once changes have settled for 500 ms, or 5 s after the
// first (Kafka: 5 s / 60 s; shorter here so metadata converges quickly).
void Broker::Impl::MaybePropagateIsrChanges(int64_t now) {
  std::vector<TopicPartition> tps;
  {
    std::lock_guard<std::mutex> lock(isr_mu);
    if (isr_changed.empty()) return;
    if (now - isr_last_change_ms < 500 && now - isr_first_change_ms < 5000) return;
    tps.assign(isr_changed.begin(), isr_changed.end());
    isr_changed.clear();
  }
  Status st = zk->CreateIsrChangeNotification(tps);
  if (!st.ok()) {
    LOG(WARNING) << Prefix() << "ISR change notification: " << st.ToString();
    std::lock_guard<std::mutex> lock(isr_mu);
    for (auto& tp : tps) isr_changed.insert(tp);
  }
}

void Broker::Impl::RunScheduler() {
  int64_t next_isr_check = clock->MonotonicMs() + config.replica_lag_time_max_ms / 2;
  int64_t next_deleted_sweep = 0;
  int64_t next_retention = clock->MonotonicMs() + config.log_retention_check_interval_ms;
  int64_t next_producer_expiry =
      clock->MonotonicMs() + config.producer_id_expiration_check_interval_ms;
  int64_t next_checkpoint = clock->MonotonicMs() + config.log_flush_offset_checkpoint_interval_ms;
  int64_t next_hw_checkpoint =
      clock->MonotonicMs() + config.replica_high_watermark_checkpoint_interval_ms;
  int64_t next_tls_check = clock->MonotonicMs() + config.ssl_reload_check_interval_ms;
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    cv.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping) break;
    lock.unlock();
    int64_t now = clock->MonotonicMs();
    if (reload_requested.exchange(false)) {
      LOG(INFO) << Prefix() << "reload requested (SIGHUP)";
      MaybeReloadTls();
      asio::post(blocking_pool, [this] { ReloadBrokerConfig(); });
    } else if (config.ssl_reload_check_interval_ms > 0 && now >= next_tls_check) {
      MaybeReloadTls();
      next_tls_check = now + config.ssl_reload_check_interval_ms;
    }
    logs->FlushDirty();
    if (now >= next_deleted_sweep) {
      logs->RemoveDueDeletedFiles();  // segments the cleaner replaced
      next_deleted_sweep = now + 1000;
    }
    if (now >= next_isr_check) {
      replicas->MaybeShrinkIsrs(config.replica_lag_time_max_ms);
      next_isr_check = now + std::max<int64_t>(config.replica_lag_time_max_ms / 2, 100);
    }
    MaybePropagateIsrChanges(now);
    if (now >= next_retention) {
      logs->RunRetention();
      next_retention = now + config.log_retention_check_interval_ms;
    }
    if (now >= next_producer_expiry) {
      int n = logs->RemoveExpiredProducers();
      if (n > 0) LOG(INFO) << Prefix() << "expired " << n << " idle producer id(s)";
      next_producer_expiry = now + config.producer_id_expiration_check_interval_ms;
    }
    if (now >= next_checkpoint || now >= next_hw_checkpoint) {
      Status st = logs->CheckpointAll();
      if (!st.ok()) LOG(WARNING) << Prefix() << "checkpoint: " << st.ToString();
      next_checkpoint = now + config.log_flush_offset_checkpoint_interval_ms;
      next_hw_checkpoint = now + config.replica_high_watermark_checkpoint_interval_ms;
    }
    lock.lock();
  }
}

}  // namespace gregor::server
