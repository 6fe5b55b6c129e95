#include "gregor/controller/controller.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>

#include "controller/replica_set.h"
#include "gregor/protocol/error_code.h"
#include "gregor/zk/reassignment.h"

namespace gregor::controller {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using Code = Status::Code;

}  // namespace

// The event queue, shared with callbacks running on other threads (ZooKeeper, channel) through
// weak pointers, so that a late callback after Stop() or destruction is simply dropped.
struct Controller::Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> ready;
  std::multimap<int64_t, std::function<void()>> timers;  // steady ms -> event
  bool stopped = false;

  // False once stopped: the event will never run.
  bool Push(std::function<void()> fn, int64_t delay_ms) {
    std::lock_guard<std::mutex> lk(mu);
    if (stopped) return false;
    if (delay_ms <= 0) {
      ready.push_back(std::move(fn));
    } else {
      timers.emplace(SteadyMs() + delay_ms, std::move(fn));
    }
    cv.notify_all();
    return true;
  }
};

Controller::Controller(Options options, zk::KafkaZkClient* zk, ControllerChannel* channel,
                       const gregor::Clock* clock)
    : options_(options),
      zk_(zk),
      channel_(channel),
      clock_(clock),
      inbox_(std::make_shared<Inbox>()) {}

Controller::~Controller() { Stop(); }

std::string Controller::Prefix() const {
  return "[Controller id=" + std::to_string(options_.broker_id) +
         " epoch=" + std::to_string(epoch_) + "] ";
}

void Controller::Start() {
  if (started_) return;
  started_ = true;
  std::weak_ptr<Inbox> weak = inbox_;
  // A new ZooKeeper session lost our /controller and every watch: start over (Kafka's
  // RegisterBrokerAndReelect after session expiration).
  session_cb_id_ = zk_->zk()->AddSessionReestablishedCallback([weak, this] {
    if (auto in = weak.lock()) {
      in->Push(
          [this] {
            Resign();
            Elect();
          },
          0);
    }
  });
  thread_ = std::thread([this] { RunLoop(); });
  Post([this] { Elect(); });
}

void Controller::Stop() {
  if (!started_) return;
  started_ = false;
  zk_->zk()->RemoveSessionCallback(session_cb_id_);
  Post([this] {
    bool was_active = active_;
    Resign();
    if (was_active) {
      Status st = zk_->DeleteControllerIfOwned(options_.broker_id);
      if (!st.ok()) LOG(WARNING) << Prefix() << "deleting /controller: " << st.ToString();
    }
  });
  {
    std::lock_guard<std::mutex> lk(inbox_->mu);
    inbox_->stopped = true;
    inbox_->timers.clear();
    inbox_->cv.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Controller::Post(std::function<void()> fn, int64_t delay_ms) {
  inbox_->Push(std::move(fn), delay_ms);
}

void Controller::ControlledShutdown(int32_t broker_id, int64_t broker_epoch,
                                    ControlledShutdownCallback done) {
  auto cb = std::make_shared<ControlledShutdownCallback>(std::move(done));
  if (!inbox_->Push([this, broker_id, broker_epoch,
                     cb] { DoControlledShutdown(broker_id, broker_epoch, *cb); },
                    0)) {
    (*cb)(protocol::ErrorCode::kNotController, {});
  }
}

void Controller::AlterPartitionReassignments(
    std::map<TopicPartition, std::optional<std::vector<int32_t>>> reassignments,
    AlterReassignmentsCallback done) {
  auto cb = std::make_shared<AlterReassignmentsCallback>(std::move(done));
  auto req = std::make_shared<decltype(reassignments)>(std::move(reassignments));
  if (!inbox_->Push([this, req, cb] { DoAlterReassignments(*req, *cb); }, 0)) {
    (*cb)(protocol::ErrorCode::kNotController, {});
  }
}

void Controller::ElectLeaders(bool unclean, std::optional<std::vector<TopicPartition>> partitions,
                              ElectLeadersCallback done) {
  auto cb = std::make_shared<ElectLeadersCallback>(std::move(done));
  auto req = std::make_shared<decltype(partitions)>(std::move(partitions));
  if (!inbox_->Push([this, unclean, req, cb] { DoElectLeaders(unclean, *req, *cb); }, 0)) {
    (*cb)(protocol::ErrorCode::kNotController, {});
  }
}

void Controller::ListPartitionReassignments(std::optional<std::vector<TopicPartition>> partitions,
                                            ListReassignmentsCallback done) {
  auto cb = std::make_shared<ListReassignmentsCallback>(std::move(done));
  auto req = std::make_shared<decltype(partitions)>(std::move(partitions));
  if (!inbox_->Push([this, req, cb] { DoListReassignments(*req, *cb); }, 0)) {
    (*cb)(protocol::ErrorCode::kNotController, {});
  }
}

void Controller::AlterPartition(protocol::AlterPartitionRequest request, int16_t version,
                                AlterPartitionCallback done) {
  auto cb = std::make_shared<AlterPartitionCallback>(std::move(done));
  auto req = std::make_shared<protocol::AlterPartitionRequest>(std::move(request));
  if (!inbox_->Push([this, req, version, cb] { DoAlterPartition(*req, version, *cb); }, 0)) {
    protocol::AlterPartitionResponse out;
    out.error_code = protocol::ErrorCode::kNotController;
    (*cb)(std::move(out));
  }
}

void Controller::RunLoop() {
  Inbox& in = *inbox_;
  while (true) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lk(in.mu);
      while (true) {
        int64_t now = SteadyMs();
        while (!in.timers.empty() && in.timers.begin()->first <= now) {
          in.ready.push_back(std::move(in.timers.begin()->second));
          in.timers.erase(in.timers.begin());
        }
        if (!in.ready.empty()) break;
        if (in.stopped) return;
        if (in.timers.empty()) {
          in.cv.wait(lk);
        } else {
          in.cv.wait_for(lk, std::chrono::milliseconds(in.timers.begin()->first - now));
        }
      }
      fn = std::move(in.ready.front());
      in.ready.pop_front();
    }
    fn();
  }
}

void Controller::PostFromAnyThread(const std::weak_ptr<Inbox>& inbox, std::function<void()> fn) {
  if (auto in = inbox.lock()) in->Push(std::move(fn), 0);
}

std::function<void()> Controller::InGeneration(std::function<void()> fn) {
  uint64_t gen = generation_;
  return [this, gen, fn = std::move(fn)] {
    if (gen == generation_ && active_) fn();
  };
}

zk::WatchCallback Controller::WatchPoster(std::function<void()> handler) {
  std::weak_ptr<Inbox> weak = inbox_;
  auto fn = InGeneration(std::move(handler));
  return [weak, fn](const zk::WatchEvent&) {
    if (auto in = weak.lock()) in->Push(fn, 0);
  };
}

zk::WatchCallback Controller::NodeWatchPoster(std::function<void()> on_appear_or_vanish,
                                              std::function<void()> on_other) {
  std::weak_ptr<Inbox> weak = inbox_;
  auto appear = InGeneration(std::move(on_appear_or_vanish));
  auto other = InGeneration(std::move(on_other));
  return [weak, appear, other](const zk::WatchEvent& e) {
    auto in = weak.lock();
    if (!in) return;
    bool edge =
        e.type == zk::WatchEvent::Type::kCreated || e.type == zk::WatchEvent::Type::kDeleted;
    in->Push(edge ? appear : other, 0);
  };
}

// ---------------------------------------------------------------- election

void Controller::Elect() {
  std::weak_ptr<Inbox> weak = inbox_;
  // Not generation-bound: this watch must survive resignations.
  auto exists = zk_->zk()->Exists(zk::paths::kController, [weak, this](const zk::WatchEvent&) {
    if (auto in = weak.lock()) in->Push([this] { Elect(); }, 0);
  });
  if (!exists.ok()) {
    LOG(ERROR) << Prefix() << "reading /controller: " << exists.status().ToString()
               << "; retrying election";
    Post([this] { Elect(); }, options_.retry_backoff_ms);
    return;
  }
  if (exists->has_value()) {
    auto id = zk_->GetControllerId();
    int32_t cid = id.ok() && id->has_value() ? **id : -1;
    controller_id_flag_ = cid;
    if (cid != options_.broker_id) {
      if (active_) {
        LOG(INFO) << Prefix() << "controller moved to " << cid << "; resigning";
        Resign();
      }
      return;
    }
    if (active_) return;
    // /controller names us but we are not active: either our own session holds it (we
    // resigned after an error and retake it) or a previous session's node that will vanish.
  } else if (active_) {
    Resign();
  }
  auto r = zk_->TryElectController(options_.broker_id);
  if (!r.ok()) {
    LOG(ERROR) << Prefix() << "election failed: " << r.status().ToString() << "; retrying";
    Post([this] { Elect(); }, options_.retry_backoff_ms);
    return;
  }
  controller_id_flag_ = r->controller_id;
  if (!r->won) {
    VLOG(1) << Prefix() << "broker " << r->controller_id << " is the controller";
    return;
  }
  epoch_ = r->epoch;
  epoch_zk_version_ = r->epoch_zk_version;
  OnControllerFailover();
}

void Controller::Resign() {
  ++generation_;
  if (!active_) return;
  LOG(INFO) << Prefix() << "resigning as controller";
  active_ = false;
  active_flag_ = false;
  epoch_flag_ = 0;
  live_brokers_.clear();
  topics_.clear();
  states_.clear();
  topics_to_delete_.clear();
  deletions_.clear();
  shutting_down_.clear();
  reassignment_watches_.clear();
}

void Controller::ControllerMoved(const Status& st) {
  LOG(INFO) << Prefix() << st.message() << "; resigning";
  Resign();
  Elect();
}

bool Controller::Failed(const Status& st, const char* what) {
  if (st.ok()) return false;
  if (st.code() == Code::kNotLeader) {
    ControllerMoved(st);
    return true;
  }
  // Our view of the cluster may now be incomplete: start over from ZooKeeper after a backoff
  // (we keep /controller, and retake it with the same epoch).
  LOG(ERROR) << Prefix() << what << ": " << st.ToString() << "; reloading controller state";
  Resign();
  Post([this] { Elect(); }, options_.retry_backoff_ms);
  return true;
}

void Controller::OnControllerFailover() {
  ++generation_;
  active_ = true;
  active_flag_ = true;
  epoch_flag_ = epoch_;
  LOG(INFO) << Prefix() << "elected controller (epoch znode version " << epoch_zk_version_ << ")";
  live_brokers_.clear();
  topics_.clear();
  states_.clear();
  topics_to_delete_.clear();
  deletions_.clear();
  shutting_down_.clear();
  reassignment_watches_.clear();

  auto ids =
      zk_->zk()->GetChildren(zk::paths::kBrokerIds, WatchPoster([this] { HandleBrokerChange(); }));
  if (Failed(ids.status(), "watching /brokers/ids")) return;
  auto brokers = zk_->GetAllBrokers();
  if (Failed(brokers.status(), "reading brokers")) return;
  for (auto& b : *brokers) live_brokers_[b.id] = b;

  auto topics = zk_->GetAllTopics(WatchPoster([this] { HandleTopicChange(); }));
  if (Failed(topics.status(), "watching /brokers/topics")) return;
  for (const std::string& t : *topics) {
    if (!LoadTopic(t)) return;
  }

  // Brokers need the live-broker list before they can act on LeaderAndIsr.
  std::set<TopicPartition> all;
  for (const auto& [tp, s] : states_) all.insert(tp);
  SendUpdateMetadataToAll(all, false);

  Batch batch;
  std::vector<TopicPartition> fresh;
  for (const auto& [t, info] : topics_) {
    for (const auto& [p, replicas] : info.assignment) {
      if (!states_.count({t, p})) fresh.push_back({t, p});
    }
  }
  OnNewPartitions(fresh, &batch);
  if (!active_) return;
  // Kafka's replica state machine starts every replica on a broker absent from /brokers/ids
  // as offline: leaderless partitions get a leader and those brokers leave every ISR now. A
  // broker that died with (or just before) the previous controller is otherwise never
  // reported dead, since it was never live for this one.
  std::set<int32_t> absent;
  for (const auto& [t, info] : topics_) {
    for (const auto& [p, replicas] : info.assignment) {
      for (int32_t r : replicas) {
        if (!IsLive(r)) absent.insert(r);
      }
    }
  }
  ElectOfflinePartitions(absent, &batch);
  if (!active_) return;
  RemoveFromIsrs(absent, &batch);
  if (!active_) return;
  // Replicas learn their role from the new controller (the replica state machine's startup).
  for (const auto& [tp, s] : states_) {
    AddLeaderAndIsr(tp, false, &batch);
    batch.update_metadata.insert(tp);
  }
  SendBatch(&batch);
  if (!active_) return;
  // Reassignments recorded in the topic znodes continue; then new ones from
  // /admin/reassign_partitions (Kafka's initializePartitionReassignments).
  ResumeReassignments();
  if (!active_) return;
  HandleZkReassignment(true);
  if (!active_) return;
  HandleZkPreferredElection(true);
  if (!active_) return;
  HandleTopicDeletion();
  if (!active_) return;
  HandleIsrChangeNotification();
  if (!active_) return;
  // Kafka schedules the first imbalance check 5 s after failover.
  ScheduleLeaderRebalance(
      std::min<int64_t>(5000, options_.leader_imbalance_check_interval_seconds * 1000), true);
}

// ---------------------------------------------------------------- loading

bool Controller::LoadTopic(const std::string& topic) {
  auto a = zk::GetTopicAssignmentWatched(
      zk_->zk(), topic, WatchPoster([this, topic] { HandlePartitionModification(topic); }));
  if (!a.ok()) {
    if (a.status().code() == Code::kNotFound) return true;  // deleted meanwhile
    if (a.status().code() == Code::kCorruption) {
      LOG(ERROR) << Prefix() << "ignoring topic " << topic << ": " << a.status().message();
      return true;
    }
    Failed(a.status(), "reading topic");
    return false;
  }
  TopicInfo& info = topics_[topic];
  info.id = a->topic_id;
  info.has_id = a->has_topic_id;
  info.assignment = a->partitions;
  info.reassigning.clear();
  for (const auto& [p, replicas] : a->partitions) {
    Reassignment r;
    if (auto it = a->adding_replicas.find(p); it != a->adding_replicas.end()) r.adding = it->second;
    if (auto it = a->removing_replicas.find(p); it != a->removing_replicas.end()) {
      r.removing = it->second;
    }
    if (!r.adding.empty() || !r.removing.empty()) info.reassigning[p] = std::move(r);
  }
  for (const auto& [p, replicas] : a->partitions) {
    TopicPartition tp{topic, p};
    auto s = zk_->GetPartitionState(tp);
    if (s.ok()) {
      states_[tp] = *s;
    } else if (s.status().code() == Code::kCorruption) {
      LOG(ERROR) << Prefix() << "bad state znode for " << tp.ToString() << ": "
                 << s.status().message();
    } else if (s.status().code() != Code::kNotFound) {
      Failed(s.status(), "reading partition state");
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- brokers

void Controller::HandleBrokerChange() {
  auto ids =
      zk_->zk()->GetChildren(zk::paths::kBrokerIds, WatchPoster([this] { HandleBrokerChange(); }));
  if (Failed(ids.status(), "watching /brokers/ids")) return;
  auto brokers = zk_->GetAllBrokers();
  if (Failed(brokers.status(), "reading brokers")) return;
  std::map<int32_t, BrokerInfo> current;
  for (auto& b : *brokers) current[b.id] = b;
  std::set<int32_t> dead, started;
  for (const auto& [id, b] : live_brokers_) {
    auto it = current.find(id);
    if (it == current.end()) {
      dead.insert(id);
    } else if (it->second.epoch != b.epoch) {
      // A new czxid: the broker restarted within our watch window (KIP-380 "bounced").
      dead.insert(id);
      started.insert(id);
    }
  }
  for (const auto& [id, b] : current) {
    if (!live_brokers_.count(id)) started.insert(id);
  }
  if (dead.empty() && started.empty()) return;
  live_brokers_ = std::move(current);
  // A broker that died or came back is no longer shutting down (Kafka forgets it then too).
  for (int32_t id : dead) shutting_down_.erase(id);
  for (int32_t id : started) shutting_down_.erase(id);
  for (int32_t id : dead) {
    if (!started.count(id)) LOG(INFO) << Prefix() << "broker " << id << " failed";
  }
  for (int32_t id : started) LOG(INFO) << Prefix() << "broker " << id << " started";
  if (!dead.empty()) OnBrokerFailure(dead);
  if (active_ && !started.empty()) OnBrokerStartup(started);
}

void Controller::OnBrokerFailure(const std::set<int32_t>& dead) {
  Batch batch;
  batch.update_metadata_all = true;  // everyone must learn the broker is gone
  ElectOfflinePartitions(dead, &batch);
  if (!active_) return;
  RemoveFromIsrs(dead, &batch);
  if (!active_) return;
  SendBatch(&batch);
}

void Controller::OnBrokerStartup(const std::set<int32_t>& started) {
  std::set<TopicPartition> all;
  for (const auto& [tp, s] : states_) all.insert(tp);
  SendUpdateMetadataToAll(all, false);

  Batch batch;
  // The new brokers learn their replicas' roles.
  for (const auto& [tp, s] : states_) {
    if (topics_to_delete_.count(tp.topic)) continue;
    for (int32_t r : topics_[tp.topic].assignment[tp.partition]) {
      if (started.count(r)) batch.leader_and_isr[r].emplace(tp, false);
    }
  }
  std::vector<TopicPartition> fresh;
  for (const auto& [t, info] : topics_) {
    for (const auto& [p, replicas] : info.assignment) {
      if (!states_.count({t, p})) fresh.push_back({t, p});
    }
  }
  OnNewPartitions(fresh, &batch);
  if (!active_) return;
  ElectOfflinePartitions({}, &batch);
  if (!active_) return;
  SendBatch(&batch);
  // Reassignments waiting for a replica on a restarted broker start it again (Kafka's
  // onBrokerStartup).
  std::vector<TopicPartition> restart;
  for (const auto& [t, info] : topics_) {
    for (const auto& [p, r] : info.reassigning) {
      auto replicas = info.assignment.find(p);
      if (replicas == info.assignment.end()) continue;
      for (int32_t b : replicas->second) {
        if (started.count(b)) {
          restart.push_back({t, p});
          break;
        }
      }
    }
  }
  for (const TopicPartition& tp : restart) {
    if (!active_) return;
    OnPartitionReassignment(tp);
  }
  if (!active_) return;
  ResumeDeletions();
  // A returning broker gets its preferred leaderships back soon rather than after a full
  // check interval (rolling restarts would otherwise leave leadership skewed for minutes).
  ScheduleLeaderRebalance(
      std::min<int64_t>(5000, options_.leader_imbalance_check_interval_seconds * 1000), false);
}

// ---------------------------------------------------------------- topics

void Controller::HandleTopicChange() {
  auto topics = zk_->GetAllTopics(WatchPoster([this] { HandleTopicChange(); }));
  if (Failed(topics.status(), "watching /brokers/topics")) return;
  std::set<std::string> current(topics->begin(), topics->end());
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (current.count(it->first)) {
      ++it;
      continue;
    }
    // Removed behind our back (or by our own deletion, already forgotten).
    for (auto s = states_.begin(); s != states_.end();) {
      s = s->first.topic == it->first ? states_.erase(s) : std::next(s);
    }
    topics_to_delete_.erase(it->first);
    deletions_.erase(it->first);
    it = topics_.erase(it);
  }
  Batch batch;
  for (const std::string& t : current) {
    if (topics_.count(t)) continue;
    if (!LoadTopic(t)) return;
    auto info = topics_.find(t);
    if (info == topics_.end()) continue;
    std::vector<TopicPartition> fresh;
    for (const auto& [p, replicas] : info->second.assignment) {
      if (!states_.count({t, p})) fresh.push_back({t, p});
    }
    LOG(INFO) << Prefix() << "new topic " << t << " with " << info->second.assignment.size()
              << " partitions";
    OnNewPartitions(fresh, &batch);
    if (!active_) return;
  }
  SendBatch(&batch);
}

void Controller::HandlePartitionModification(const std::string& topic) {
  auto info = topics_.find(topic);
  if (info == topics_.end()) return;
  auto a = zk::GetTopicAssignmentWatched(
      zk_->zk(), topic, WatchPoster([this, topic] { HandlePartitionModification(topic); }));
  if (!a.ok()) {
    if (a.status().code() == Code::kNotFound || a.status().code() == Code::kCorruption) return;
    Failed(a.status(), "reading topic");
    return;
  }
  if (topics_to_delete_.count(topic)) return;
  std::vector<TopicPartition> fresh;
  for (const auto& [p, replicas] : a->partitions) {
    // Only additions: existing partitions change only through this controller's reassignments.
    if (!info->second.assignment.count(p)) {
      info->second.assignment[p] = replicas;
      fresh.push_back({topic, p});
    }
  }
  if (fresh.empty()) return;
  LOG(INFO) << Prefix() << "topic " << topic << ": " << fresh.size() << " new partitions";
  Batch batch;
  OnNewPartitions(fresh, &batch);
  if (!active_) return;
  SendBatch(&batch);
}

// ---------------------------------------------------------------- ISR changes from leaders

void Controller::HandleIsrChangeNotification() {
  auto children = zk_->zk()->GetChildren(zk::paths::kIsrChangeNotification,
                                         WatchPoster([this] { HandleIsrChangeNotification(); }));
  if (!children.ok()) {
    if (children.status().code() == Code::kNotFound) return;
    Failed(children.status(), "watching /isr_change_notification");
    return;
  }
  std::set<TopicPartition> changed;
  for (const std::string& name : *children) {
    std::string path = std::string(zk::paths::kIsrChangeNotification) + "/" + name;
    auto got = zk_->zk()->Get(path);
    if (got.ok()) {
      auto tps = zk::DecodeIsrChange(got->data);
      if (tps.ok()) changed.insert(tps->begin(), tps->end());
    }
    (void)zk_->zk()->Delete(path, -1);
  }
  std::set<TopicPartition> refreshed;
  for (const TopicPartition& tp : changed) {
    if (!states_.count(tp)) continue;
    auto s = zk_->GetPartitionState(tp);
    if (s.ok()) {
      states_[tp] = *s;
      refreshed.insert(tp);
    }
  }
  if (!refreshed.empty()) SendUpdateMetadataToAll(refreshed, false);
  // An ISR that grew may complete a reassignment.
  for (const TopicPartition& tp : refreshed) {
    if (!active_) return;
    MaybeCompleteReassignment(tp);
  }
}

// ---------------------------------------------------------------- requests

PartitionState Controller::MakePartitionState(const TopicPartition& tp) const {
  PartitionState ps;
  ps.tp = tp;
  auto s = states_.find(tp);
  if (s != states_.end()) {
    ps.controller_epoch = s->second.controller_epoch;
    ps.leader = s->second.leader;
    ps.leader_epoch = s->second.leader_epoch;
    ps.isr = s->second.isr;
    ps.zk_version = s->second.zk_version;
  }
  auto topic = topics_.find(tp.topic);
  if (topic != topics_.end()) {
    ps.topic_id = topic->second.id;
    auto replicas = topic->second.assignment.find(tp.partition);
    if (replicas != topic->second.assignment.end()) {
      ps.replicas = replicas->second;
      for (int32_t r : ps.replicas) {
        if (!IsLive(r)) ps.offline_replicas.push_back(r);
      }
      if (auto r = topic->second.reassigning.find(tp.partition);
          r != topic->second.reassigning.end()) {
        ps.adding_replicas = r->second.adding;
        ps.removing_replicas = r->second.removing;
      }
    }
  }
  return ps;
}

std::vector<BrokerInfo> Controller::LiveBrokerList() const {
  std::vector<BrokerInfo> out;
  for (const auto& [id, b] : live_brokers_) out.push_back(b);
  return out;
}

void Controller::SendUpdateMetadataToAll(const std::set<TopicPartition>& tps, bool deleting) {
  if (!active_) return;
  std::vector<PartitionState> states;
  for (const TopicPartition& tp : tps) {
    PartitionState ps = MakePartitionState(tp);
    if (deleting) ps.leader = kLeaderDuringDelete;
    states.push_back(std::move(ps));
  }
  std::vector<BrokerInfo> live = LiveBrokerList();
  std::string prefix = Prefix();
  for (const BrokerInfo& b : live) {
    int32_t id = b.id;
    channel_->SendUpdateMetadata(b, options_.broker_id, epoch_, states, live,
                                 [prefix, id](Status st) {
                                   if (!st.ok()) {
                                     LOG(WARNING) << prefix << "UpdateMetadata to broker " << id
                                                  << " failed: " << st.ToString();
                                   }
                                 });
  }
}

void Controller::SendBatch(Batch* batch) {
  if (!active_) return;
  std::string prefix = Prefix();
  for (const auto& [broker, parts] : batch->leader_and_isr) {
    auto to = live_brokers_.find(broker);
    if (to == live_brokers_.end()) continue;
    std::vector<PartitionState> states;
    std::set<int32_t> leaders;
    for (const auto& [tp, is_new] : parts) {
      if (!states_.count(tp)) continue;
      PartitionState ps = MakePartitionState(tp);
      ps.is_new = is_new;
      if (ps.leader >= 0) leaders.insert(ps.leader);
      states.push_back(std::move(ps));
    }
    if (states.empty()) continue;
    std::vector<BrokerInfo> live_leaders;
    for (int32_t l : leaders) {
      auto b = live_brokers_.find(l);
      if (b != live_brokers_.end()) live_leaders.push_back(b->second);
    }
    int32_t id = broker;
    channel_->SendLeaderAndIsr(to->second, options_.broker_id, epoch_, states, live_leaders,
                               [prefix, id](Status st, PartitionErrors errors) {
                                 if (!st.ok()) {
                                   LOG(WARNING) << prefix << "LeaderAndIsr to broker " << id
                                                << " failed: " << st.ToString();
                                   return;
                                 }
                                 for (const auto& [tp, code] : errors) {
                                   // STALE_CONTROLLER_EPOCH per partition: the broker already
                                   // has this leader epoch (a new controller re-sends every
                                   // state it loaded; Kafka answers the same way).
                                   if (code == protocol::ErrorCode::kStaleControllerEpoch) {
                                     VLOG(1) << prefix << "LeaderAndIsr to broker " << id << ": "
                                             << tp.ToString() << " already at this leader epoch";
                                   } else if (code != protocol::ErrorCode::kNone) {
                                     LOG(WARNING) << prefix << "LeaderAndIsr to broker " << id
                                                  << ": " << tp.ToString() << " error "
                                                  << protocol::ErrorCodeName(code);
                                   }
                                 }
                               });
  }
  if (!batch->update_metadata.empty() || batch->update_metadata_all) {
    std::set<TopicPartition> tps;
    for (const auto& tp : batch->update_metadata) {
      if (states_.count(tp)) tps.insert(tp);
    }
    SendUpdateMetadataToAll(tps, false);
  }
  for (bool del : {false, true}) {
    for (const auto& [broker, parts] : del ? batch->stop_replica_delete : batch->stop_replica) {
      auto to = live_brokers_.find(broker);
      if (to == live_brokers_.end() || parts.empty()) continue;
      int32_t id = broker;
      // Not retried (as Kafka's reassignment and controlled shutdown do not): a broker that
      // missed it drops the replica when it next learns it is not assigned one.
      channel_->SendStopReplica(to->second, options_.broker_id, epoch_, parts, del,
                                [prefix, id](Status st, PartitionErrors errors) {
                                  if (!st.ok()) {
                                    LOG(WARNING) << prefix << "StopReplica to broker " << id
                                                 << " failed: " << st.ToString();
                                    return;
                                  }
                                  for (const auto& [tp, code] : errors) {
                                    if (code != protocol::ErrorCode::kNone) {
                                      LOG(WARNING)
                                          << prefix << "StopReplica to broker " << id << ": "
                                          << tp.ToString() << " error " << static_cast<int>(code);
                                    }
                                  }
                                });
    }
  }
  *batch = Batch();
}

}  // namespace gregor::controller
