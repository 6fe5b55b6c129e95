#pragma once
// Asio include shim: <utility> must precede awaitable.hpp (g++ 12 + Asio 1.18).
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
// clang-format on

namespace gregor {
namespace asio = boost::asio;
}
