// The HTTPS transport of the fleet service: Boost.Beast over Asio, C++20 coroutines, one
// io_context (optionally run by several threads; each connection lives on its own strand).
// This is the only translation unit that includes Beast (compile time).
#include "fleet/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fleet/request_parse.h"
#include "fleet/worker_pool.h"

namespace ironseal::fleet {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using net::awaitable;
using net::use_awaitable;

constexpr std::size_t kFileChunk = 64 * 1024;
// Chunked requests: chunk extensions (all chunks of a request together) and trailer fields mean
// nothing to this server; a little of either is tolerated, more is refused (400). The read buffer
// holds at most a header plus this much, which bounds a chunk-size line or a trailer section
// that never ends (Beast itself would buffer it all).
constexpr std::size_t kMaxChunkExtensionBytes = 256;
constexpr std::size_t kMaxTrailerBytes = 1024;
constexpr std::size_t kReadBufferSlack = 4096;
// Refused device handshakes are logged at most this often (an attacker decides how many there
// are); the rest are counted in a "suppressed" summary and in the metrics.
constexpr std::size_t kRefusalLogLines = 20;
constexpr std::int64_t kRefusalLogIntervalMs = 10000;

void log_line(const std::string& line) { std::fprintf(stderr, "ironseal-server: %s\n", line.c_str()); }

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Why a device handshake failed, in words an operator can act on.
std::string handshake_reason(SSL* ssl, const boost::system::error_code& ec, bool* cert_refusal) {
  *cert_refusal = false;
  if (auto refusal = client_certificate_refusal(ssl)) {
    *cert_refusal = true;
    return "client certificate refused: " + *refusal;
  }
  std::string msg = ec.message();
  if (msg.find("certificate") != std::string::npos) *cert_refusal = true;
  return msg;
}

}  // namespace

struct FleetServer::Impl {
  Impl(const ServerConfig& c, FleetService& s, Metrics& m)
      : config(c),
        service(s),
        metrics(m),
        device_ctx(net::ssl::context::tls_server),
        operator_ctx(net::ssl::context::tls_server),
        device_acceptor(ioc),
        operator_acceptor(ioc),
        workers(c.limits.login_workers, c.limits.max_queued_logins, c.limits.login_worker_nice) {}

  ServerConfig config;
  FleetService& service;
  Metrics& metrics;
  net::io_context ioc;
  net::ssl::context device_ctx;
  net::ssl::context operator_ctx;
  std::unique_ptr<TrustStore> trust;
  tcp::acceptor device_acceptor;
  tcp::acceptor operator_acceptor;
  std::atomic<std::size_t> active{0};
  std::mutex per_client_mutex;
  std::unordered_map<std::string, std::size_t> per_client;  // open connections per address
  LogThrottle refusal_log{"device connections refused (handshake or certificate)",
                          kRefusalLogLines, kRefusalLogIntervalMs};

  void log_refusal(const std::string& line) {
    auto d = refusal_log.admit(steady_ms());
    if (!d.summary.empty()) log_line(d.summary);
    if (d.write) log_line(line);
  }
  // After ioc, so it is destroyed first: a job still running then posts its answer to a live
  // io_context.
  WorkerPool workers;

  // Admits a connection from `address` within both limits; release() when it ends.
  bool admit(const std::string& address) {
    if (active.load() >= config.limits.max_connections) return false;
    std::lock_guard lock(per_client_mutex);
    auto& n = per_client[address];
    if (n >= config.limits.max_connections_per_client) {
      if (n == 0) per_client.erase(address);
      return false;
    }
    ++n;
    ++active;
    return true;
  }
  void release(const std::string& address) {
    std::lock_guard lock(per_client_mutex);
    if (auto it = per_client.find(address); it != per_client.end() && --it->second == 0) {
      per_client.erase(it);
    }
    --active;
  }

  Result<void> bind(tcp::acceptor& acceptor, std::uint16_t port) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(config.bind_address, ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, "bad bind address ", config.bind_address);
    const tcp::endpoint ep(address, port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "cannot listen on ", config.bind_address, ":",
                  std::to_string(port), ": ", ec.message());
    }
    return {};
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor, Listener listener) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(
          net::make_strand(ioc), net::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == net::error::operation_aborted) co_return;
        // Out of descriptors and the like: wait a little instead of spinning.
        net::steady_timer t(ioc, std::chrono::milliseconds(50));
        co_await t.async_wait(net::redirect_error(use_awaitable, ec));
        continue;
      }
      metrics.connections_accepted++;
      // No Nagle: a response goes out as several small writes (TLS records for the header, then
      // the body chunks); with Nagle the later ones wait for the client's delayed ACK (~40 ms).
      socket.set_option(tcp::no_delay(true), ec);
      std::string address;
      {
        auto ep = socket.remote_endpoint(ec);
        if (!ec) address = ep.address().to_string();
      }
      if (!admit(address)) {
        metrics.connections_rejected++;
        socket.close(ec);
        continue;
      }
      metrics.connections_active++;
      auto executor = socket.get_executor();
      net::co_spawn(executor, session(std::move(socket), listener),
                    [this, address](std::exception_ptr e) {
                      release(address);
                      metrics.connections_active--;
                      if (e) {
                        try {
                          std::rethrow_exception(e);
                        } catch (const std::exception& ex) {
                          log_line(std::string("connection error: ") + ex.what());
                        }
                      }
                    });
    }
  }

  // Closes so that what was last sent (a TLS alert, an error response) reaches the client: stop
  // sending, then read and discard for a short bounded time. Closing with unread input would make
  // the kernel answer with a reset, and the client could lose the alert or response.
  awaitable<void> linger_close(Stream& stream) {
    auto& tcp_stream = beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_stream.expires_after(std::chrono::milliseconds(500));
    std::array<char, 4096> sink;
    for (std::size_t total = 0; !ec && total < 256 * 1024;) {
      total += co_await tcp_stream.async_read_some(net::buffer(sink),
                                                   net::redirect_error(use_awaitable, ec));
    }
    tcp_stream.close();
  }

  awaitable<void> send(Stream& stream, http::response<http::string_body>& res, bool* ok) {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(config.limits.write_timeout);
    res.prepare_payload();
    co_await http::async_write(stream, res, net::redirect_error(use_awaitable, ec));
    *ok = !ec;
  }

  awaitable<void> send_error(Stream& stream, Listener listener, int status, const char* code,
                             const char* message) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::connection, "close");
    res.body() = std::string("{\"error\":\"") + code + "\",\"message\":\"" + message + "\"}\n";
    metrics.count_response(static_cast<int>(listener), status);
    bool ok = false;
    co_await send(stream, res, &ok);
  }

  // The answer to a request: at once, or (a login) from a worker thread while this connection's
  // coroutine waits; the I/O thread goes on serving the others. With the workers' queue full, the
  // service's "busy" answer at once. The worker hands the answer back through the connection's
  // strand and wakes the coroutine by cancelling a timer; the handle it holds is shared, so a
  // connection that has gone away by then is simply not woken.
  struct Handoff {
    std::optional<HttpResponse> answer;
    net::steady_timer* wake = nullptr;  // set while the coroutine waits; touched on the strand only
  };

  awaitable<HttpResponse> answer(const HttpRequest& r) {
    FleetService::Dispatch d = service.dispatch(r);
    if (!d.work) co_return std::move(d.response);
    const bool login = d.login;
    const auto strand = co_await net::this_coro::executor;
    net::steady_timer wake(strand, net::steady_timer::time_point::max());
    auto handoff = std::make_shared<Handoff>();
    handoff->wake = &wake;
    struct Unhook {  // however this frame ends, the worker's answer no longer finds the timer
      Handoff& h;
      ~Unhook() { h.wake = nullptr; }
    } unhook{*handoff};
    const bool queued = workers.submit(
        [strand, handoff, work = std::move(d.work), busy = std::move(d.response)](bool run) mutable {
          HttpResponse out = run ? work() : std::move(busy);
          net::post(strand, [handoff, out = std::move(out)]() mutable {
            handoff->answer = std::move(out);
            if (handoff->wake != nullptr) handoff->wake->cancel();
          });
        });
    if (!queued && login) metrics.login_busy++;
    boost::system::error_code ec;
    while (!handoff->answer) {
      co_await wake.async_wait(net::redirect_error(use_awaitable, ec));
    }
    co_return std::move(*handoff->answer);
  }

  awaitable<void> session(tcp::socket socket, Listener listener) {
    boost::system::error_code ec;
    std::string peer;
    {
      auto ep = socket.remote_endpoint(ec);
      if (!ec) peer = ep.address().to_string();
    }
    Stream stream(std::move(socket),
                  listener == Listener::kDevice ? device_ctx : operator_ctx);
    beast::get_lowest_layer(stream).expires_after(config.limits.handshake_timeout);
    if (listener == Listener::kDevice) {
      if (auto ok = trust->attach(stream.native_handle()); !ok) {
        log_line(ok.error().message);
        co_return;
      }
    }
    co_await stream.async_handshake(net::ssl::stream_base::server,
                                    net::redirect_error(use_awaitable, ec));
    if (ec) {
      metrics.handshake_failures++;
      if (listener == Listener::kDevice) {
        bool cert_refusal = false;
        const std::string why = handshake_reason(stream.native_handle(), ec, &cert_refusal);
        if (cert_refusal) metrics.client_certificate_refusals++;
        log_refusal("device TLS handshake from " + peer + " refused: " + why);
      }
      clear_openssl_errors();
      if (ec != beast::error::timeout) co_await linger_close(stream);
      co_return;
    }
    std::optional<DeviceIdentity> identity;
    if (listener == Listener::kDevice) {
      auto id = trust->identity(stream.native_handle());
      if (!id) {
        co_await send_error(stream, listener, 403, "bad_certificate", "unusable client certificate");
        log_refusal("device from " + peer + " refused: " + id.error().message);
        co_return;
      }
      identity = std::move(*id);
    }

    // Bounded: a header, or a chunk-size line or trailer section of up to kReadBufferSlack bytes.
    beast::flat_buffer buffer(config.limits.max_header_bytes + kReadBufferSlack);
    for (std::size_t served = 0; served < config.limits.max_requests_per_connection; ++served) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(config.limits.max_header_bytes));
      parser.body_limit(config.limits.max_body_bytes);
      std::size_t extension_bytes = 0;
      bool extensions_too_large = false;
      auto on_chunk_header = [&](std::uint64_t, beast::string_view extensions,
                                 boost::system::error_code& chunk_ec) {
        extension_bytes += extensions.size();
        if (extension_bytes > kMaxChunkExtensionBytes) {
          extensions_too_large = true;
          chunk_ec = http::error::bad_chunk_extension;
        }
      };
      parser.on_chunk_header(on_chunk_header);
      // One deadline for the whole request, from waiting for it to its last byte: a client that
      // trickles bytes (slowloris) is cut off, however it paces them.
      beast::get_lowest_layer(stream).expires_after(config.limits.request_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       net::redirect_error(use_awaitable, ec));
      // What the service sees of the request comes from the header alone: trailer fields of a
      // chunked body (merged into the same field list by Beast) never stand in for it.
      HttpRequest r;
      std::size_t header_fields = 0;
      std::size_t body_limit = config.limits.max_body_bytes;
      if (!ec) {
        const auto& h = parser.get();
        r.listener = listener;
        r.method = std::string(h.method_string());
        r.target = std::string(h.target());
        r.authorization = std::string(h[http::field::authorization]);
        r.content_type = std::string(h[http::field::content_type]);
        r.range = std::string(h[http::field::range]);
        header_fields = static_cast<std::size_t>(std::distance(h.begin(), h.end()));
        // The endpoint's own limit, before a byte of the body is read (or "100 Continue" sent).
        body_limit = std::min(body_limit, endpoint_body_limit(listener == Listener::kDevice,
                                                              r.method, r.target));
        if (parser.content_length() && *parser.content_length() > body_limit) {
          ec = http::error::body_limit;
        } else {
          parser.body_limit(body_limit);
        }
      }
      // A client that announces its body (curl does above 1 KiB) waits for "100 Continue".
      if (!ec && !parser.is_done() &&
          beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        co_await http::async_write(stream, go_on, net::redirect_error(use_awaitable, ec));
      }
      if (!ec && !parser.is_done()) {
        co_await http::async_read(stream, buffer, parser, net::redirect_error(use_awaitable, ec));
      }
      if (ec == http::error::end_of_stream || ec == net::ssl::error::stream_truncated ||
          ec == net::error::eof) {
        break;
      }
      if (ec == beast::error::timeout) {
        metrics.request_timeouts++;
        co_return;  // the stream is already closed
      }
      if (ec == http::error::header_limit) {
        metrics.requests_too_large++;
        co_await send_error(stream, listener, 431, "header_too_large",
                            "request header fields too large");
        co_await linger_close(stream);
        co_return;
      }
      if (ec == http::error::body_limit) {
        metrics.requests_too_large++;
        const std::string why = "request body larger than " + std::to_string(body_limit) +
                                " bytes, this endpoint's limit";
        co_await send_error(stream, listener, 413, "body_too_large", why.c_str());
        co_await linger_close(stream);
        co_return;
      }
      if (ec == http::error::buffer_overflow) {
        metrics.requests_too_large++;
        co_await send_error(stream, listener, 400, "chunk_framing_too_large",
                            "a chunk-size line or the trailer section is too large");
        co_await linger_close(stream);
        co_return;
      }
      if (ec == http::error::bad_chunk_extension && extensions_too_large) {
        metrics.requests_too_large++;
        const std::string why = "chunk extensions over " +
                                std::to_string(kMaxChunkExtensionBytes) + " bytes";
        co_await send_error(stream, listener, 400, "chunk_extension_too_large", why.c_str());
        co_await linger_close(stream);
        co_return;
      }
      if (ec) {
        if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
          co_await send_error(stream, listener, 400, "bad_request", "malformed HTTP request");
          co_await linger_close(stream);
          co_return;
        }
        break;
      }
      auto req = parser.release();
      {
        // Trailer fields: what the field list holds beyond the header.
        std::size_t trailer_bytes = 0;
        auto it = req.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(std::min(
                             header_fields, static_cast<std::size_t>(
                                                std::distance(req.begin(), req.end())))));
        for (; it != req.end(); ++it) {
          trailer_bytes += it->name_string().size() + it->value().size() + 4;  // ": " CRLF
        }
        if (trailer_bytes > kMaxTrailerBytes) {
          metrics.requests_too_large++;
          const std::string why =
              "trailer fields over " + std::to_string(kMaxTrailerBytes) + " bytes";
          co_await send_error(stream, listener, 400, "trailer_too_large", why.c_str());
          co_await linger_close(stream);
          co_return;
        }
      }
      r.body = std::move(req.body());
      r.device = identity;
      r.peer = peer;
      const bool head = req.method() == http::verb::head;
      if (head) r.method = "GET";
      HttpResponse out = co_await answer(r);
      metrics.count_response(static_cast<int>(listener), out.status);
      const bool keep = req.keep_alive() && out.status < 500 &&
                        served + 1 < config.limits.max_requests_per_connection;

      if (!out.file) {
        http::response<http::string_body> res{static_cast<http::status>(out.status),
                                              req.version()};
        res.set(http::field::content_type, out.content_type);
        res.set(http::field::cache_control, "no-store");
        for (const auto& [k, v] : out.headers) res.set(k, v);
        res.keep_alive(keep);
        if (!head) res.body() = std::move(out.body);
        bool ok = false;
        co_await send(stream, res, &ok);
        if (!ok || !keep) break;
        continue;
      }
      // A file: the header, then the bytes in chunks (never the whole file in memory).
      http::response<http::empty_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::content_type, out.content_type);
      for (const auto& [k, v] : out.headers) res.set(k, v);
      res.set(http::field::content_length, std::to_string(out.file->length));
      res.keep_alive(keep);
      http::response_serializer<http::empty_body> sr{res};
      beast::get_lowest_layer(stream).expires_after(config.limits.write_timeout);
      co_await http::async_write_header(stream, sr, net::redirect_error(use_awaitable, ec));
      if (ec) break;
      if (!head) {
        // Sized to the response: a 64 KiB zero-filled buffer for a 300-byte metadata file costs
        // more than serving it (fresh pages on every request).
        std::vector<std::uint8_t> chunk(
            static_cast<std::size_t>(std::min<std::uint64_t>(out.file->length, kFileChunk)));
        std::uint64_t off = out.file->offset;
        std::uint64_t left = out.file->length;
        bool failed = false;
        while (left > 0) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kFileChunk));
          if (!out.file->file->read_at(off, std::span(chunk.data(), n))) {
            failed = true;  // the file shrank under us: the length promised cannot be kept
            break;
          }
          beast::get_lowest_layer(stream).expires_after(config.limits.write_timeout);
          co_await net::async_write(stream, net::buffer(chunk.data(), n),
                                    net::redirect_error(use_awaitable, ec));
          if (ec) {
            failed = true;
            break;
          }
          off += n;
          left -= n;
        }
        if (failed) co_return;
      }
      if (!keep) break;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(net::redirect_error(use_awaitable, ec));
  }

  awaitable<void> service_tick() {
    net::steady_timer timer(ioc);
    for (;;) {
      timer.expires_after(std::chrono::seconds(1));
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      service.tick();
      if (auto summary = refusal_log.flush(steady_ms()); !summary.empty()) log_line(summary);
    }
  }

  awaitable<void> trust_poll() {
    net::steady_timer timer(ioc);
    for (;;) {
      timer.expires_after(config.trust_poll);
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      auto reloaded = trust->reload_if_changed();
      if (!reloaded) {
        metrics.trust_reload_failures++;
        log_line("device CA/CRL reload failed, keeping the previous ones: " +
                 reloaded.error().message);
      } else if (*reloaded) {
        metrics.trust_reloads++;
        log_line("device CA/CRL files changed: reloaded");
      }
    }
  }
};

FleetServer::FleetServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FleetServer::~FleetServer() = default;

Result<std::unique_ptr<FleetServer>> FleetServer::create(const ServerConfig& config,
                                                         FleetService& service,
                                                         Metrics& metrics) {
  auto impl = std::make_unique<Impl>(config, service, metrics);
  auto trust = TrustStore::load(config.trust);
  if (!trust) return std::unexpected(trust.error());
  impl->trust = std::move(*trust);
  if (auto ok = configure_server_context(impl->device_ctx.native_handle(), config.tls, true); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = configure_server_context(impl->operator_ctx.native_handle(), config.tls, false);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = impl->bind(impl->device_acceptor, config.device_port); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = impl->bind(impl->operator_acceptor, config.operator_port); !ok) {
    return std::unexpected(ok.error());
  }
  return std::unique_ptr<FleetServer>(new FleetServer(std::move(impl)));
}

std::uint16_t FleetServer::device_port() const {
  return impl_->device_acceptor.local_endpoint().port();
}
std::uint16_t FleetServer::operator_port() const {
  return impl_->operator_acceptor.local_endpoint().port();
}

void FleetServer::run(bool handle_signals, const std::function<void()>& on_ready) {
  Impl& i = *impl_;
  net::signal_set signals(i.ioc);
  if (handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([&i](const boost::system::error_code& ec, int) {
      if (!ec) i.ioc.stop();
    });
  }
  net::co_spawn(i.ioc, i.accept_loop(i.device_acceptor, Listener::kDevice), net::detached);
  net::co_spawn(i.ioc, i.accept_loop(i.operator_acceptor, Listener::kOperator), net::detached);
  net::co_spawn(i.ioc, i.trust_poll(), net::detached);
  net::co_spawn(i.ioc, i.service_tick(), net::detached);
  if (on_ready) on_ready();
  std::vector<std::thread> extra;
  for (int t = 1; t < i.config.threads; ++t) extra.emplace_back([&i] { i.ioc.run(); });
  i.ioc.run();
  for (auto& t : extra) t.join();
}

void FleetServer::stop() { impl_->ioc.stop(); }

}  // namespace ironseal::fleet
