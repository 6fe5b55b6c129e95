#pragma once
// Json: a small JSON value (null, bool, int64, double, string, array, object) with a parser and a
// compact serializer, enough for the znode contents Kafka keeps in ZooKeeper.
//
// Value type, thread-compatible. Objects keep their keys in insertion order so that Dump()
// reproduces Kafka's field order byte for byte (Jackson writes fields in insertion order, with no
// spaces). Parse never throws and never crashes on hostile input: it returns kCorruption with the
// byte offset of the problem, and limits nesting depth so a deep document cannot exhaust the stack.
// Accessors on the wrong type return a neutral value (0, "", empty) rather than failing; use the
// Get* helpers, which return std::nullopt, when the type matters.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gregor/base/status.h"

namespace gregor {

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  Json(std::nullptr_t) {}                                               // NOLINT
  Json(bool b) : type_(Type::kBool), bool_(b) {}                        // NOLINT
  Json(int v) : type_(Type::kInt), int_(v) {}                           // NOLINT
  Json(int64_t v) : type_(Type::kInt), int_(v) {}                       // NOLINT
  Json(double v) : type_(Type::kDouble), double_(v) {}                  // NOLINT
  Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}  // NOLINT
  Json(const char* s) : type_(Type::kString), string_(s) {}             // NOLINT
  Json(std::string_view s) : type_(Type::kString), string_(s) {}        // NOLINT
  Json(Array a) : type_(Type::kArray), array_(std::move(a)) {}          // NOLINT
  static Json MakeArray() { return Json(Array{}); }
  static Json MakeObject() {
    Json j;
    j.type_ = Type::kObject;
    return j;
  }
  // An array of integers, e.g. a replica list.
  static Json IntArray(const std::vector<int32_t>& v);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool AsBool() const { return type_ == Type::kBool && bool_; }
  int64_t AsInt() const;
  double AsDouble() const;
  const std::string& AsString() const;
  const Array& AsArray() const;
  const Object& AsObject() const;

  // Object access. Find returns nullptr when this is not an object or the key is absent.
  const Json* Find(std::string_view key) const;
  // Sets key (replacing an existing value in place, else appending). Turns a null into an object.
  Json& Set(std::string key, Json value);
  // Appends to an array. Turns a null into an array.
  void Push(Json value);

  // Typed getters for object members: nullopt when absent or of another type.
  std::optional<int64_t> GetInt(std::string_view key) const;
  std::optional<std::string> GetString(std::string_view key) const;
  // An array of integers (each must fit int32); nullopt when absent or malformed.
  std::optional<std::vector<int32_t>> GetIntArray(std::string_view key) const;

  // Compact serialization: no whitespace, keys in insertion order.
  std::string Dump() const;
  // Parses one JSON document (surrounding whitespace allowed).
  static Result<Json> Parse(std::string_view text, int max_depth = 64);

  bool operator==(const Json& other) const;

 private:
  void DumpTo(std::string* out) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

}  // namespace gregor
