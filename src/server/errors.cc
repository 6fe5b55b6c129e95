#include "server/errors.h"

namespace gregor::server {

using protocol::ErrorCode;

ErrorCode ProduceError(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kCorruption:
      return ErrorCode::kCorruptMessage;
    case Status::Code::kTooLarge:
      return ErrorCode::kMessageTooLarge;
    case Status::Code::kInvalidArgument:
      return ErrorCode::kInvalidRecord;
    case Status::Code::kNotLeader:
      return ErrorCode::kNotLeaderOrFollower;
    case Status::Code::kUnavailable:
      return ErrorCode::kNotEnoughReplicas;
    case Status::Code::kNotFound:
      return ErrorCode::kUnknownTopicOrPartition;
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
      return ErrorCode::kKafkaStorageError;
    case Status::Code::kTimeout:
      return ErrorCode::kRequestTimedOut;
    case Status::Code::kStale:
      return ErrorCode::kFencedLeaderEpoch;
    case Status::Code::kOutOfOrder:
      return ErrorCode::kOutOfOrderSequenceNumber;
    case Status::Code::kFenced:
      return ErrorCode::kInvalidProducerEpoch;
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kInvalidTxnState;
    case Status::Code::kOutOfRange:
    case Status::Code::kAlreadyExists:
    case Status::Code::kInternal:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

ErrorCode ReadError(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case Status::Code::kNotLeader:
      return ErrorCode::kNotLeaderOrFollower;
    case Status::Code::kStale:
      return ErrorCode::kFencedLeaderEpoch;
    case Status::Code::kNotFound:
      return ErrorCode::kUnknownLeaderEpoch;
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kCorruption:
      return ErrorCode::kKafkaStorageError;
    case Status::Code::kTimeout:
      return ErrorCode::kRequestTimedOut;
    case Status::Code::kUnavailable:
      return ErrorCode::kLeaderNotAvailable;
    case Status::Code::kInvalidArgument:
    case Status::Code::kTooLarge:
    case Status::Code::kAlreadyExists:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

protocol::ErrorCode AclError(const Status& st) {
  using protocol::ErrorCode;
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kInvalidArgument:
      return ErrorCode::kInvalidRequest;
    case Status::Code::kNotFound:
    case Status::Code::kCorruption:
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kTimeout:
    case Status::Code::kUnavailable:
    case Status::Code::kAlreadyExists:
    case Status::Code::kOutOfRange:
    case Status::Code::kTooLarge:
    case Status::Code::kNotLeader:
    case Status::Code::kStale:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

ErrorCode ForTxnClient(ErrorCode e, bool handles_transaction_abortable) {
  if (e == ErrorCode::kTransactionAbortable && !handles_transaction_abortable) {
    return ErrorCode::kInvalidTxnState;
  }
  return e;
}

}  // namespace gregor::server
