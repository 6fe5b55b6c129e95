#include "gregor/security/base64.h"

#include <openssl/evp.h>

#include <string>

namespace gregor::security {

namespace {

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  if (bytes.empty()) return std::string();
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("invalid base64: length " + std::to_string(text.size()) +
                                   " is not a multiple of 4");
  }
  // EVP_DecodeBlock skips surrounding whitespace and does not account for padding, so the
  // input is validated here and the padding bytes are removed from its output.
  size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!IsBase64Char(text[i])) {
      return Status::InvalidArgument("invalid base64: unexpected character at offset " +
                                     std::to_string(i));
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) {
    return Status::InvalidArgument("invalid base64");
  }
  out.resize(out.size() - padding);
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  std::string std_text(text);
  for (char& c : std_text) {
    if (c == '+' || c == '/') return Status::InvalidArgument("not base64url: '+' or '/'");
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_text.size() % 4 == 1) return Status::InvalidArgument("base64url of a bad length");
  while (std_text.size() % 4 != 0) std_text.push_back('=');
  return Base64Decode(std_text);
}

}  // namespace gregor::security
