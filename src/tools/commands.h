#pragma once
// The gregorctl subcommands. Each runs one parsed command to completion on
// the calling thread and returns the process exit code: 0 on success, 1 when
// the cluster refused or the operation failed (the reason is printed to
// stderr first). Usage errors (exit 2) are caught earlier, by Parse().

#include "tools/args.h"

namespace gregor::tools {

int RunTopicCreate(const GlobalOptions& global, const TopicCreateOptions& o);
int RunTopicList(const GlobalOptions& global, const TopicListOptions& o);
int RunTopicDescribe(const GlobalOptions& global, const TopicDescribeOptions& o);
int RunTopicDelete(const GlobalOptions& global, const TopicDeleteOptions& o);
int RunTopicAlterConfig(const GlobalOptions& global, const TopicAlterConfigOptions& o);
int RunProduce(const GlobalOptions& global, const ProduceOptions& o);
int RunConsume(const GlobalOptions& global, const ConsumeOptions& o);
int RunBenchProduce(const GlobalOptions& global, const BenchProduceOptions& o);
int RunBenchConsume(const GlobalOptions& global, const BenchConsumeOptions& o);
int RunMockCluster(const GlobalOptions& global, const MockClusterOptions& o);

}  // namespace gregor::tools
