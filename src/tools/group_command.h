#pragma once
// gregorctl group list|describe|reset-offsets|delete: the consumer-group
// commands, in the manner of kafka-consumer-groups.sh.
//
// The pure half lives here, header-only, so tests/tools can check it without
// linking librdkafka (tools_test does not): argument parsing, the --to-datetime
// parser, the new-offset computation of reset-offsets and the table layout.
// The librdkafka half (RunGroupCommand) is in group_command.cc.
//
// Parsing is separate from Parse() in args.h because `group` was added after
// it: ParseGroupCommand() recognises a `group` command line and resolves the
// global options (-b, -X) through Parse() itself, so both agree on them.
// Nothing here throws; bad usage is a Status (printed by main, exit 2).

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "tools/args.h"

namespace gregor::tools {

// ---------------------------------------------------------------------------
// Options.

struct GroupListOptions {};
struct GroupDescribeOptions {
  std::vector<std::string> groups;  // at least one
};
struct GroupDeleteOptions {
  std::vector<std::string> groups;  // at least one
};

// --topic T (every partition of T) or --topic T:0,2 (those partitions).
struct TopicSelection {
  std::string topic;
  std::vector<int32_t> partitions;  // empty: every partition of the topic
  bool operator==(const TopicSelection&) const = default;
};

enum class ResetKind { kToEarliest, kToLatest, kToOffset, kToDatetime, kShiftBy };

struct ResetSpec {
  ResetKind kind = ResetKind::kToEarliest;
  // --to-offset: the offset; --shift-by: the shift; --to-datetime: the
  // timestamp in milliseconds since the epoch (UTC). Unused otherwise.
  int64_t value = 0;
  bool operator==(const ResetSpec&) const = default;
};

struct GroupResetOffsetsOptions {
  std::string group;
  std::vector<TopicSelection> topics;  // exclusive with all_topics
  bool all_topics = false;             // every partition the group has an offset for
  ResetSpec spec;
  bool execute = false;  // false: dry run, print the plan only
};

using GroupCommandOptions = std::variant<GroupListOptions, GroupDescribeOptions,
                                         GroupResetOffsetsOptions, GroupDeleteOptions>;

struct ParsedGroupCommand {
  GlobalOptions global;
  bool help = false;  // print `usage` to stdout, exit 0
  std::string usage;
  std::optional<GroupCommandOptions> options;  // set unless help
};

inline constexpr char kGroupUsageLines[] =
    "  group list\n"
    "  group describe GROUP...\n"
    "  group reset-offsets GROUP (--topic T[:P,...]... | --all-topics)\n"
    "          (--to-earliest | --to-latest | --to-offset N | --to-datetime DT | --shift-by N)\n"
    "          [--dry-run | --execute]\n"
    "  group delete GROUP...\n";

inline constexpr char kGroupUsage[] =
    "usage: gregorctl group list\n"
    "       gregorctl group describe GROUP...\n"
    "       gregorctl group reset-offsets GROUP (--topic T[:P,...]... | --all-topics)\n"
    "                 (--to-earliest | --to-latest | --to-offset N |\n"
    "                  --to-datetime YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM] | --shift-by N)\n"
    "                 [--dry-run | --execute]\n"
    "       gregorctl group delete GROUP...\n"
    "\n"
    "list: every consumer group with its state and protocol type.\n"
    "describe: state, coordinator and members of the group, then per partition the\n"
    "  committed offset, log end offset and lag (\"-\": none or no member).\n"
    "reset-offsets: prints the new committed offset of each partition; commits them\n"
    "  only with --execute, which needs the group inactive (no running consumers).\n"
    "  --to-offset and --shift-by are clamped to [earliest, latest]; --to-datetime\n"
    "  takes the first offset whose record timestamp is at or after DT (local time\n"
    "  unless Z or an offset is given), or the log end offset if there is none.\n"
    "  --all-topics: every partition the group has a committed offset for.\n"
    "delete: deletes each group (it must have no members), reporting each result.\n";

// Adds the group command lines to a text that contains the main usage (the
// main usage itself, or an error message ending with it), just before its
// "Global options:" paragraph. Other texts are returned unchanged.
inline std::string WithGroupUsage(std::string text) {
  static constexpr std::string_view kMarker = "\nGlobal options:\n";
  if (text.find(kMainUsage) == std::string::npos) return text;
  auto pos = text.find(kMarker);
  if (pos == std::string::npos) return text;
  text.insert(pos, kGroupUsageLines);
  return text;
}

// ---------------------------------------------------------------------------
// Value parsers.

// "T", "T:0", "T:0,2,5". Partitions are sorted and deduplicated.
inline Result<TopicSelection> ParseTopicSelection(std::string_view text) {
  TopicSelection out;
  auto colon = text.rfind(':');
  out.topic = std::string(text.substr(0, colon));
  if (out.topic.empty()) {
    return Status::InvalidArgument("--topic: empty topic name in '" + std::string(text) + "'");
  }
  if (colon == std::string_view::npos) return out;
  std::string_view list = text.substr(colon + 1);
  while (true) {
    auto comma = list.find(',');
    Result<int32_t> p =
        ParseInteger<int32_t>("--topic " + out.topic, list.substr(0, comma), 0, 1'000'000);
    if (!p.ok()) return p.status();
    out.partitions.push_back(*p);
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  std::sort(out.partitions.begin(), out.partitions.end());
  out.partitions.erase(std::unique(out.partitions.begin(), out.partitions.end()),
                       out.partitions.end());
  return out;
}

namespace group_internal {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil), so UTC conversion needs no timegm() or TZ games.
constexpr int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

constexpr bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Reads exactly `n` digits at `*pos`.
inline bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

inline bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace group_internal

// "YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM|-HH:MM|+HHMM|-HHMM]" -> milliseconds since
// the epoch. Without a zone the time is local (as kafka-consumer-groups does),
// resolved with mktime().
inline Result<int64_t> ParseDateTime(std::string_view text) {
  using namespace group_internal;
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("--to-datetime: " + std::string(why) + " in '" +
                                   std::string(text) +
                                   "' (expected YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM])");
  };
  size_t pos = 0;
  int year, month, day, hour, minute, second, millis = 0;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day) || !Expect(text, &pos, 'T') ||
      !Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return bad("malformed date-time");
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (!Digits(text, &pos, 3, &millis)) return bad("milliseconds must be 3 digits");
  }
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return bad("month out of range");
  int max_day = kDaysIn[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0);
  if (day < 1 || day > max_day) return bad("day out of range");
  if (hour > 23 || minute > 59 || second > 59) return bad("time out of range");

  if (pos == text.size()) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;  // let the zone rules decide
    std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return bad("not a valid local time");
    return static_cast<int64_t>(t) * 1000 + millis;
  }

  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh)) return bad("malformed zone offset");
    Expect(text, &pos, ':');
    if (!Digits(text, &pos, 2, &om)) return bad("malformed zone offset");
    if (oh > 18 || om > 59) return bad("zone offset out of range");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad("unexpected text after the time");
  }
  if (pos != text.size()) return bad("unexpected text after the zone");
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                    static_cast<int64_t>(offset_minutes) * 60;
  return seconds * 1000 + millis;
}

// ---------------------------------------------------------------------------
// Command line.

namespace group_internal {

inline Result<GroupCommandOptions> ParseGroupSub(const std::string& sub, const ScannedArgs& s) {
  for (const auto& p : s.positionals) {
    if (p.empty()) return Status::InvalidArgument("group " + sub + ": empty group id");
  }
  if (sub == "list") {
    if (!s.positionals.empty()) {
      return Status::InvalidArgument("group list: unexpected argument '" + s.positionals[0] + "'");
    }
    return GroupCommandOptions(GroupListOptions{});
  }
  if (sub == "describe" || sub == "delete") {
    if (s.positionals.empty()) return Status::InvalidArgument("group " + sub + ": missing GROUP");
    if (sub == "describe") return GroupCommandOptions(GroupDescribeOptions{s.positionals});
    return GroupCommandOptions(GroupDeleteOptions{s.positionals});
  }
  // reset-offsets
  if (s.positionals.empty()) return Status::InvalidArgument("group reset-offsets: missing GROUP");
  if (s.positionals.size() > 1) {
    return Status::InvalidArgument("group reset-offsets: one group at a time (unexpected '" +
                                   s.positionals[1] + "')");
  }
  GroupResetOffsetsOptions o;
  o.group = s.positionals[0];
  o.all_topics = s.Has("--all-topics");
  if (auto it = s.flags.find("--topic"); it != s.flags.end()) {
    if (o.all_topics) {
      return Status::InvalidArgument("group reset-offsets: --topic and --all-topics are exclusive");
    }
    for (const auto& text : it->second) {
      Result<TopicSelection> t = ParseTopicSelection(text);
      if (!t.ok()) return t.status();
      o.topics.push_back(std::move(*t));
    }
  }
  if (o.topics.empty() && !o.all_topics) {
    return Status::InvalidArgument("group reset-offsets: give --topic T[:P,...] or --all-topics");
  }
  static constexpr std::pair<std::string_view, ResetKind> kScenarios[] = {
      {"--to-earliest", ResetKind::kToEarliest}, {"--to-latest", ResetKind::kToLatest},
      {"--to-offset", ResetKind::kToOffset},     {"--to-datetime", ResetKind::kToDatetime},
      {"--shift-by", ResetKind::kShiftBy},
  };
  std::vector<std::string_view> given;
  for (const auto& [flag, kind] : kScenarios) {
    if (!s.Has(flag)) continue;
    given.push_back(flag);
    o.spec.kind = kind;
  }
  if (given.empty()) {
    return Status::InvalidArgument(
        "group reset-offsets: give one of --to-earliest, --to-latest, --to-offset, "
        "--to-datetime, --shift-by");
  }
  if (given.size() > 1) {
    return Status::InvalidArgument("group reset-offsets: " + std::string(given[0]) + " and " +
                                   std::string(given[1]) + " are exclusive");
  }
  switch (o.spec.kind) {
    case ResetKind::kToOffset: {
      Result<int64_t> v = ParseInteger<int64_t>("--to-offset", *s.Last("--to-offset"), 0);
      if (!v.ok()) return v.status();
      o.spec.value = *v;
      break;
    }
    case ResetKind::kShiftBy: {
      Result<int64_t> v = ParseInteger<int64_t>("--shift-by", *s.Last("--shift-by"));
      if (!v.ok()) return v.status();
      o.spec.value = *v;
      break;
    }
    case ResetKind::kToDatetime: {
      Result<int64_t> v = ParseDateTime(*s.Last("--to-datetime"));
      if (!v.ok()) return v.status();
      o.spec.value = *v;
      break;
    }
    case ResetKind::kToEarliest:
    case ResetKind::kToLatest:
      break;
  }
  if (s.Has("--execute") && s.Has("--dry-run")) {
    return Status::InvalidArgument("group reset-offsets: --dry-run and --execute are exclusive");
  }
  o.execute = s.Has("--execute");
  return GroupCommandOptions(std::move(o));
}

inline std::vector<FlagSpec> GroupFlags(const std::string& sub) {
  if (sub != "reset-offsets") return {};
  return {{"--topic", true, true},         {"--all-topics", false, false},
          {"--to-earliest", false, false}, {"--to-latest", false, false},
          {"--to-offset", true, false},    {"--to-datetime", true, false},
          {"--shift-by", true, false},     {"--execute", false, false},
          {"--dry-run", false, false}};
}

}  // namespace group_internal

// argv[1..] -> a group command, or nullopt when the line is not a `group`
// command (then Parse() handles it). Global options may appear anywhere, as
// for every command; they are resolved by Parse() so the two never disagree.
inline std::optional<Result<ParsedGroupCommand>> ParseGroupCommand(
    const std::vector<std::string>& args, const char* env_bootstrap) {
  std::vector<std::string> globals, rest;
  bool wants_help = false;
  std::string missing_value;  // a global option at the very end, without its value
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      wants_help = true;
    } else if (a == "-b" || a == "--bootstrap-server" || a == "-X") {
      // Checked here: the "--help" appended below must not become the value.
      if (i + 1 >= args.size()) {
        missing_value = a;
        break;
      }
      globals.push_back(a);
      globals.push_back(args[++i]);
    } else if (a.rfind("--bootstrap-server=", 0) == 0 || (a.size() > 2 && a.rfind("-X", 0) == 0)) {
      globals.push_back(a);
    } else {
      rest.push_back(a);
    }
  }
  if (rest.empty() || rest[0] != "group") return std::nullopt;
  if (!missing_value.empty()) {
    return Result<ParsedGroupCommand>(Status::InvalidArgument(missing_value + " needs a value"));
  }

  // With only global options and --help, Parse() resolves them and asks for
  // no command.
  globals.push_back("--help");
  Result<ParsedCommand> resolved = Parse(globals, env_bootstrap);
  if (!resolved.ok()) return Result<ParsedGroupCommand>(resolved.status());
  ParsedGroupCommand out;
  out.global = resolved->global;

  if (wants_help || rest.size() < 2) {
    if (!wants_help) {
      return Result<ParsedGroupCommand>(
          Status::InvalidArgument(std::string("group: missing subcommand\n") + kGroupUsage));
    }
    out.help = true;
    out.usage = kGroupUsage;
    return Result<ParsedGroupCommand>(std::move(out));
  }
  const std::string& sub = rest[1];
  if (sub != "list" && sub != "describe" && sub != "reset-offsets" && sub != "delete") {
    return Result<ParsedGroupCommand>(Status::InvalidArgument("group: unknown subcommand '" + sub +
                                                              "'\n" + std::string(kGroupUsage)));
  }
  std::vector<std::string> cmd_args(rest.begin() + 2, rest.end());
  Result<ScannedArgs> scanned = ScanArgs(cmd_args, group_internal::GroupFlags(sub));
  if (!scanned.ok()) {
    return Result<ParsedGroupCommand>(Status::InvalidArgument(
        "group " + sub + ": " + scanned.status().message() + "\n" + kGroupUsage));
  }
  Result<GroupCommandOptions> parsed = group_internal::ParseGroupSub(sub, *scanned);
  if (!parsed.ok()) {
    return Result<ParsedGroupCommand>(
        Status::InvalidArgument(parsed.status().message() + "\n" + kGroupUsage));
  }
  out.options = std::move(*parsed);
  return Result<ParsedGroupCommand>(std::move(out));
}

// ---------------------------------------------------------------------------
// Offsets.

// What is known about one partition when computing its new offset.
struct PartitionOffsets {
  int64_t earliest = 0;              // log start offset
  int64_t latest = 0;                // log end offset (high watermark)
  std::optional<int64_t> committed;  // the group's committed offset, if any
  // --to-datetime: offset of the first record at or after the timestamp;
  // none when no record is that recent.
  std::optional<int64_t> offset_for_time;
};

// The offset reset-offsets would commit for one partition `tp`. Like
// kafka-consumer-groups: --to-offset and --shift-by are clamped into
// [earliest, latest]; --shift-by needs a committed offset to shift from;
// --to-datetime with no record that recent means the log end.
inline Result<int64_t> ComputeNewOffset(const ResetSpec& spec, const PartitionOffsets& p,
                                        const TopicPartition& tp) {
  auto clamp = [&](int64_t v) { return std::max(p.earliest, std::min(v, p.latest)); };
  switch (spec.kind) {
    case ResetKind::kToEarliest:
      return p.earliest;
    case ResetKind::kToLatest:
      return p.latest;
    case ResetKind::kToOffset:
      return clamp(spec.value);
    case ResetKind::kToDatetime:
      return p.offset_for_time ? clamp(*p.offset_for_time) : p.latest;
    case ResetKind::kShiftBy: {
      if (!p.committed) {
        return Status::NotFound("cannot shift the offset of " + tp.ToString() +
                                ": the group has no committed offset for it");
      }
      int64_t base = *p.committed;
      int64_t shifted;
      if (__builtin_add_overflow(base, spec.value, &shifted)) {
        shifted = spec.value < 0 ? std::numeric_limits<int64_t>::min()
                                 : std::numeric_limits<int64_t>::max();
      }
      return clamp(shifted);
    }
  }
  return Status::Internal("unknown reset kind");
}

// ---------------------------------------------------------------------------
// Tables.

inline constexpr char kNone[] = "-";

// Left-aligned columns separated by at least two spaces, each as wide as its
// widest cell; no trailing spaces. Rows shorter than the header are padded
// with "-".
inline std::string FormatTable(const std::vector<std::string>& header,
                               const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < header.size() && c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string& cell = c < row.size() ? row[c] : std::string(kNone);
      line += cell;
      if (c + 1 < header.size()) line.append(width[c] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

struct GroupMember {
  std::string member_id;
  std::string client_id;
  std::string host;
  std::vector<TopicPartition> assignment;
};

// "orders(0,1),payments(2)": a member's assignment, topics sorted.
inline std::string FormatAssignment(std::vector<TopicPartition> tps) {
  std::sort(tps.begin(), tps.end());
  std::string out;
  for (size_t i = 0; i < tps.size(); ++i) {
    bool new_topic = i == 0 || tps[i].topic != tps[i - 1].topic;
    if (new_topic) {
      if (i > 0) out += "),";
      out += tps[i].topic + "(";
    } else {
      out += ',';
    }
    out += std::to_string(tps[i].partition);
  }
  if (!tps.empty()) out += ')';
  return out;
}

inline constexpr const char* kMemberHeader[] = {"CONSUMER-ID", "CLIENT-ID", "HOST", "#PARTITIONS",
                                                "ASSIGNMENT"};

inline std::string FormatMembersTable(const std::vector<GroupMember>& members) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : members) {
    rows.push_back({m.member_id, m.client_id, m.host, std::to_string(m.assignment.size()),
                    m.assignment.empty() ? std::string(kNone) : FormatAssignment(m.assignment)});
  }
  return FormatTable({std::begin(kMemberHeader), std::end(kMemberHeader)}, rows);
}

// One row of the describe table per partition that is assigned to a member
// or has a committed offset, sorted by topic and partition. `log_end` lacks
// partitions whose end could not be read ("-"). Lag is the log end minus the
// committed offset, "-" when either is unknown.
inline std::string FormatOffsetsTable(const std::string& group,
                                      const std::vector<GroupMember>& members,
                                      const std::map<TopicPartition, int64_t>& committed,
                                      const std::map<TopicPartition, int64_t>& log_end) {
  std::map<TopicPartition, const GroupMember*> owner;
  for (const auto& m : members) {
    for (const auto& tp : m.assignment) owner[tp] = &m;
  }
  for (const auto& [tp, off] : committed) owner.try_emplace(tp, nullptr);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [tp, member] : owner) {
    auto c = committed.find(tp);
    auto e = log_end.find(tp);
    std::string lag = kNone;
    if (c != committed.end() && e != log_end.end()) lag = std::to_string(e->second - c->second);
    rows.push_back({group, tp.topic, std::to_string(tp.partition),
                    c != committed.end() ? std::to_string(c->second) : kNone,
                    e != log_end.end() ? std::to_string(e->second) : kNone, lag,
                    member ? member->member_id : kNone, member ? member->host : kNone,
                    member ? member->client_id : kNone});
  }
  return FormatTable({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                      "CONSUMER-ID", "HOST", "CLIENT-ID"},
                     rows);
}

// The reset-offsets plan, as kafka-consumer-groups prints it.
inline std::string FormatResetTable(const std::string& group,
                                    const std::map<TopicPartition, int64_t>& new_offsets) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [tp, off] : new_offsets) {
    rows.push_back({group, tp.topic, std::to_string(tp.partition), std::to_string(off)});
  }
  return FormatTable({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}, rows);
}

// ---------------------------------------------------------------------------
// Running (group_command.cc; needs librdkafka). Returns the exit code: 0
// success, 1 the cluster refused or failed (reason on stderr).

int RunGroupCommand(const GlobalOptions& global, const GroupCommandOptions& options);

}  // namespace gregor::tools
