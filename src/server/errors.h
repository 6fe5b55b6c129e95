#pragma once
// Mapping from internal Status codes to the Kafka error code a client sees,
// one exhaustive switch per context (conventions: errors).

#include "gregor/base/status.h"
#include "gregor/protocol/error_code.h"

namespace gregor::server {

// Produce: appending a client's batches to a partition.
protocol::ErrorCode ProduceError(const Status& st);
// Fetch and ListOffsets: reading a partition.
protocol::ErrorCode ReadError(const Status& st);
// CreateAcls / DeleteAcls: a failed ACL write (kInvalidArgument is INVALID_REQUEST, as Kafka's
// InvalidRequestException; anything else UNKNOWN_SERVER_ERROR).
protocol::ErrorCode AclError(const Status& st);

}  // namespace gregor::server
