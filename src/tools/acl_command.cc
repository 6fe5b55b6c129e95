// gregorctl acl add|list|remove through librdkafka's Admin API (CreateAcls, DescribeAcls,
// DeleteAcls); parsing and the table are in acl_command.h.
#include "tools/acl_command.h"

#include <cstdio>
#include <vector>

#include "tools/kafka_client.h"

namespace gregor::tools {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

Result<KafkaPtr> AdminClient(const GlobalOptions& global) {
  Result<ConfPtr> conf = MakeConf(global, {});
  if (!conf.ok()) return conf.status();
  return NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
}

AclSpec SpecOf(const rd_kafka_AclBinding_t* b) {
  AclSpec s;
  s.resource = static_cast<AclResource>(rd_kafka_AclBinding_restype(b));
  s.name = rd_kafka_AclBinding_name(b);
  s.pattern = static_cast<AclPattern>(rd_kafka_AclBinding_resource_pattern_type(b));
  s.principal = rd_kafka_AclBinding_principal(b);
  s.host = rd_kafka_AclBinding_host(b);
  s.operation = static_cast<int>(rd_kafka_AclBinding_operation(b));
  s.permission = static_cast<AclPermission>(rd_kafka_AclBinding_permission_type(b));
  return s;
}

// A librdkafka binding or filter (the same type) of a spec; empty strings are "any" in filters.
rd_kafka_AclBinding_t* BindingOf(const AclSpec& s, bool filter, std::string* err) {
  char errstr[256] = {0};
  auto nullable = [&](const std::string& v) { return filter && v.empty() ? nullptr : v.c_str(); };
  auto* make = filter ? rd_kafka_AclBindingFilter_new : rd_kafka_AclBinding_new;
  rd_kafka_AclBinding_t* b =
      make(static_cast<rd_kafka_ResourceType_t>(s.resource), nullable(s.name),
           static_cast<rd_kafka_ResourcePatternType_t>(s.pattern), nullable(s.principal),
           nullable(s.host), static_cast<rd_kafka_AclOperation_t>(s.operation),
           static_cast<rd_kafka_AclPermissionType_t>(s.permission), errstr, sizeof(errstr));
  if (b == nullptr) *err = errstr;
  return b;
}

int Add(rd_kafka_t* rk, const AclCommand& cmd) {
  std::vector<rd_kafka_AclBinding_t*> acls;
  std::string err;
  for (const auto& s : cmd.bindings) {
    rd_kafka_AclBinding_t* b = BindingOf(s, false, &err);
    if (b == nullptr) {
      rd_kafka_AclBinding_destroy_array(acls.data(), acls.size());
      return Fail(Status::InvalidArgument(err));
    }
    acls.push_back(b);
  }
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_CREATEACLS, cmd.global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_CreateAcls(rk, acls.data(), acls.size(), opts->get(), queue.get());
  rd_kafka_AclBinding_destroy_array(acls.data(), acls.size());
  Result<EventPtr> ev = WaitAdminResult(queue.get(), cmd.global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const auto* res = rd_kafka_event_CreateAcls_result(ev->get());
  if (res == nullptr) return Fail(Status::Internal("unexpected reply to CreateAcls"));
  size_t n = 0;
  const rd_kafka_acl_result_t** results = rd_kafka_CreateAcls_result_acls(res, &n);
  int rc = 0;
  for (size_t i = 0; i < n && i < cmd.bindings.size(); ++i) {
    const rd_kafka_error_t* e = rd_kafka_acl_result_error(results[i]);
    const AclSpec& s = cmd.bindings[i];
    std::string what = AclPermissionName(s.permission) + " " + s.principal + " " +
                       AclOperationName(s.operation) + " on " + AclResourceName(s.resource) + ":" +
                       s.name + " (" + AclPatternName(s.pattern) + ", host " + s.host + ")";
    if (e != nullptr) {
      std::fprintf(stderr, "Error: %s: %s\n", what.c_str(), rd_kafka_error_string(e));
      rc = 1;
    } else {
      std::printf("Added %s\n", what.c_str());
    }
  }
  return rc;
}

int List(rd_kafka_t* rk, const AclCommand& cmd) {
  std::string err;
  rd_kafka_AclBinding_t* filter = BindingOf(cmd.filter, true, &err);
  if (filter == nullptr) return Fail(Status::InvalidArgument(err));
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBEACLS, cmd.global.request_timeout_ms);
  if (!opts.ok()) {
    rd_kafka_AclBinding_destroy(filter);
    return Fail(opts.status());
  }
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DescribeAcls(rk, filter, opts->get(), queue.get());
  rd_kafka_AclBinding_destroy(filter);
  Result<EventPtr> ev = WaitAdminResult(queue.get(), cmd.global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const auto* res = rd_kafka_event_DescribeAcls_result(ev->get());
  if (res == nullptr) return Fail(Status::Internal("unexpected reply to DescribeAcls"));
  size_t n = 0;
  const rd_kafka_AclBinding_t** acls = rd_kafka_DescribeAcls_result_acls(res, &n);
  std::vector<AclSpec> specs;
  for (size_t i = 0; i < n; ++i) specs.push_back(SpecOf(acls[i]));
  std::fputs(FormatAclTable(specs).c_str(), stdout);
  return 0;
}

int Remove(rd_kafka_t* rk, const AclCommand& cmd) {
  std::vector<rd_kafka_AclBinding_t*> filters;
  std::string err;
  for (const auto& s : cmd.bindings) {
    rd_kafka_AclBinding_t* f = BindingOf(s, true, &err);
    if (f == nullptr) {
      rd_kafka_AclBinding_destroy_array(filters.data(), filters.size());
      return Fail(Status::InvalidArgument(err));
    }
    filters.push_back(f);
  }
  Result<AdminOptionsPtr> opts =
      NewAdminOptions(rk, RD_KAFKA_ADMIN_OP_DELETEACLS, cmd.global.request_timeout_ms);
  if (!opts.ok()) return Fail(opts.status());
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DeleteAcls(rk, filters.data(), filters.size(), opts->get(), queue.get());
  rd_kafka_AclBinding_destroy_array(filters.data(), filters.size());
  Result<EventPtr> ev = WaitAdminResult(queue.get(), cmd.global.request_timeout_ms);
  if (!ev.ok()) return Fail(ev.status());
  const auto* res = rd_kafka_event_DeleteAcls_result(ev->get());
  if (res == nullptr) return Fail(Status::Internal("unexpected reply to DeleteAcls"));
  size_t n = 0;
  const rd_kafka_DeleteAcls_result_response_t** responses =
      rd_kafka_DeleteAcls_result_responses(res, &n);
  int rc = 0;
  std::vector<AclSpec> removed;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_DeleteAcls_result_response_error(responses[i])) {
      std::fprintf(stderr, "Error: %s\n", rd_kafka_error_string(e));
      rc = 1;
      continue;
    }
    size_t m = 0;
    const rd_kafka_AclBinding_t** matching =
        rd_kafka_DeleteAcls_result_response_matching_acls(responses[i], &m);
    for (size_t j = 0; j < m; ++j) removed.push_back(SpecOf(matching[j]));
  }
  std::printf("Removed %zu ACL(s)\n", removed.size());
  if (!removed.empty()) std::fputs(FormatAclTable(removed).c_str(), stdout);
  return rc;
}

}  // namespace

int RunAclCommand(const AclCommand& cmd) {
  Result<KafkaPtr> rk = AdminClient(cmd.global);
  if (!rk.ok()) return Fail(rk.status());
  switch (cmd.kind) {
    case AclCommand::Kind::kAdd:
      return Add(rk->get(), cmd);
    case AclCommand::Kind::kRemove:
      return Remove(rk->get(), cmd);
    default:
      return List(rk->get(), cmd);
  }
}

}  // namespace gregor::tools
