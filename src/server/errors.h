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

// KIP-890: TRANSACTION_ABORTABLE (Kafka 3.8+) goes only to a client whose request version says
// it handles the code (Produce v11, TxnOffsetCommit v4, AddPartitionsToTxn v5, AddOffsetsToTxn
// v4, EndTxn v4, InitProducerId v5); older ones get INVALID_TXN_STATE, what Kafka answered
// before (AddPartitionsToTxnManager's defaultError). Any other code is returned unchanged.
protocol::ErrorCode ForTxnClient(protocol::ErrorCode e, bool handles_transaction_abortable);

}  // namespace gregor::server
