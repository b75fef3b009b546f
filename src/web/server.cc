#include "web/server.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "search/suite.h"
#include "web/assets.h"
#include "web/run_view.h"

namespace kf::web {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A request the API refuses, with its HTTP status.
struct ApiError {
  int status;
  std::string message;
};

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

// A view's answer, or its failure to read the store as a 500 that says why.
json Answer(Result<json> r) {
  if (!r.ok()) throw ApiError{500, "cannot read the run: " + r.status().message()};
  return std::move(*r);
}

int64_t IntParam(const httplib::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    throw ApiError{400, std::string(name) + ": expected an integer, got '" + v + "'"};
  }
  return out;
}

std::string ContentType(const std::string& path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// The runs under the given paths: a path with run.sqlite is a run; otherwise its subdirectories
// with run.sqlite are. Views are opened once and kept; a path that is no run is listed with the
// reason, so the page can show it.
class Runs {
 public:
  explicit Runs(std::vector<fs::path> paths) : paths_(std::move(paths)) {}

  json List() {
    std::lock_guard<std::mutex> lock(mu_);
    Rescan();
    json out = json::array();
    for (const auto& [id, e] : entries_) {
      json item = {{"id", id}, {"dir", e.dir.string()}};
      if (e.view) {
        const auto s = e.view->Summary();
        if (!s.ok()) {
          item["error"] = s.status().message();
          out.push_back(item);
          continue;
        }
        for (const char* k : {"task", "strategy", "state", "candidates", "best", "last_at"}) {
          item[k] = (*s)[k];
        }
      } else {
        item["error"] = e.error;
      }
      out.push_back(item);
    }
    return out;
  }

  // The id of the run in `dir`, "" when it is not listed.
  std::string IdOf(const fs::path& dir) {
    std::lock_guard<std::mutex> lock(mu_);
    std::error_code ec;
    const fs::path abs = fs::absolute(dir, ec).lexically_normal();
    for (const auto& [id, e] : entries_) {
      if (e.dir == abs) return id;
    }
    return "";
  }

  RunView& Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      Rescan();
      it = entries_.find(id);
    }
    if (it == entries_.end()) throw ApiError{404, "no run '" + id + "' (see /api/runs)"};
    if (!it->second.view) Open(it->second);  // caught while being created, or fixed since
    if (!it->second.view) throw ApiError{409, it->second.error};
    return *it->second.view;
  }

 private:
  struct Entry {
    fs::path dir;
    std::unique_ptr<RunView> view;
    std::string error;
  };

  void Rescan() {
    std::vector<fs::path> dirs;
    for (const auto& p : paths_) {
      std::error_code ec;
      if (fs::exists(p / "run.sqlite", ec) || !fs::is_directory(p, ec)) {
        dirs.push_back(p);
        continue;
      }
      std::vector<fs::path> found;
      for (const auto& child : fs::directory_iterator(p, ec)) {
        if (fs::exists(child.path() / "run.sqlite", ec)) found.push_back(child.path());
        if (!search::IsSuiteDir(child.path())) continue;
        // A suite's runs are one level further down.
        for (const auto& run : fs::directory_iterator(child.path(), ec)) {
          if (fs::exists(run.path() / "run.sqlite", ec)) found.push_back(run.path());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) dirs.push_back(p);  // listed with its reason
      dirs.insert(dirs.end(), found.begin(), found.end());
    }
    for (const auto& d : dirs) {
      std::error_code ec;
      const fs::path abs = fs::absolute(d, ec).lexically_normal();
      bool known = false;
      for (auto& [id, e] : entries_) {
        if (e.dir != abs) continue;
        known = true;
        if (!e.view) Open(e);  // a run that was being created, or fixed since
      }
      if (known) continue;
      std::string id = abs.filename().string();
      if (id.empty()) id = "run";
      for (char& c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
          c = '_';
      }
      const std::string base = id;
      for (int n = 2; entries_.count(id); ++n) id = base + "-" + std::to_string(n);
      Entry e{abs, nullptr, ""};
      Open(e);
      entries_.emplace(id, std::move(e));
    }
  }

  static void Open(Entry& e) {
    auto v = RunView::Open(e.dir);
    if (v.ok()) {
      e.view = std::move(*v);
      e.error.clear();
    } else {
      e.error = v.status().message();
    }
  }

  std::mutex mu_;
  std::vector<fs::path> paths_;
  std::map<std::string, Entry> entries_;
};

// The suites under the given paths: a path that is a suite, or its subdirectories that are.
std::map<std::string, fs::path> FindSuites(const std::vector<fs::path>& paths) {
  std::map<std::string, fs::path> out;
  auto add = [&out](const fs::path& dir) {
    std::error_code ec;
    const fs::path abs = fs::absolute(dir, ec).lexically_normal();
    std::string id = abs.filename().string();
    const std::string base = id;
    for (int n = 2; out.count(id) && out[id] != abs; ++n) id = base + "-" + std::to_string(n);
    out[id] = abs;
  };
  for (const auto& p : paths) {
    std::error_code ec;
    if (search::IsSuiteDir(p)) {
      add(p);
      continue;
    }
    if (!fs::is_directory(p, ec)) continue;
    for (const auto& child : fs::directory_iterator(p, ec)) {
      if (search::IsSuiteDir(child.path())) add(child.path());
    }
  }
  return out;
}

const char* kNotFoundPage = R"(<!doctype html><meta charset="utf-8"><title>kforge: not found</title>
<p>No such page. <a href="/">The dashboard</a> lists the runs.</p>)";

}  // namespace

bool Serve(const ServeOptions& options, const std::function<void(const std::string&)>& on_listen,
           std::string* error) {
  httplib::Server server;
  auto runs = std::make_shared<Runs>(options.paths);

  // The page runs no script but its own and loads nothing from elsewhere: candidate code and
  // model replies are shown as text, and this header is the second line of defence.
  server.set_default_headers(
      {{"Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"},
       {"X-Content-Type-Options", "nosniff"},
       {"Cache-Control", "no-store"}});

  for (const auto& asset : Assets()) {
    const std::string path = asset.path;
    auto send = [asset, path](const httplib::Request&, httplib::Response& res) {
      res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, ContentType(path));
    };
    server.Get(path, send);
    if (path == "/index.html") server.Get("/", send);
  }

  // Every API handler: errors thrown as ApiError keep their status; anything else is a 500.
  using Handler = std::function<json(const httplib::Request&)>;
  auto api = [&server](const std::string& pattern, Handler handler) {
    server.Get(pattern, [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        SendJson(res, handler(req));
      } catch (const ApiError& e) {
        SendJson(res, {{"error", e.message}}, e.status);
      } catch (const std::exception& e) {
        SendJson(res, {{"error", std::string("internal error: ") + e.what()}}, 500);
      }
    });
  };
  auto run_of = [runs](const httplib::Request& req) -> RunView& {
    return runs->Get(req.matches[1].str());
  };
  api("/api/runs", [runs](const httplib::Request&) { return json{{"runs", runs->List()}}; });
  const std::vector<fs::path> paths = options.paths;
  api("/api/suites", [paths](const httplib::Request&) {
    json out = json::array();
    for (const auto& [id, dir] : FindSuites(paths)) {
      json item = {{"id", id}, {"dir", dir.string()}};
      auto s = search::ReadSuite(dir);
      if (!s.ok()) {
        item["error"] = s.status().message();
      } else {
        item["name"] = (*s)["suite"];
        item["problems"] = (*s)["problems"].size();
        item["states"] = (*s)["states"];
      }
      out.push_back(item);
    }
    return json{{"suites", out}};
  });
  api(R"(/api/suites/([^/]+))", [paths, runs](const httplib::Request& req) {
    const auto suites = FindSuites(paths);
    auto it = suites.find(req.matches[1].str());
    if (it == suites.end()) throw ApiError{404, "no suite '" + req.matches[1].str() + "'"};
    runs->List();  // a rescan, so that the suite's newest runs have ids
    json s = Answer(search::ReadSuite(it->second));
    for (auto& p : s["problems"]) p["run"] = runs->IdOf(it->second / p["name"].get<std::string>());
    return s;
  });
  api(R"(/api/runs/([^/]+)/summary)",
      [run_of](const httplib::Request& req) { return Answer(run_of(req).Summary()); });
  api(R"(/api/runs/([^/]+)/progress)",
      [run_of](const httplib::Request& req) { return Answer(run_of(req).Progress()); });
  api(R"(/api/runs/([^/]+)/lineage)", [run_of](const httplib::Request& req) {
    const int64_t limit = IntParam(req, "limit", 2000);
    if (limit < 1 || limit > 5000) throw ApiError{400, "limit: expected 1 to 5000"};
    return Answer(run_of(req).Lineage(IntParam(req, "after", -1), static_cast<int>(limit)));
  });
  api(R"(/api/runs/([^/]+)/grid)",
      [run_of](const httplib::Request& req) { return Answer(run_of(req).Grid()); });
  api(R"(/api/runs/([^/]+)/roofline)",
      [run_of](const httplib::Request& req) { return Answer(run_of(req).Roofline()); });
  api(R"(/api/runs/([^/]+)/candidates)", [run_of](const httplib::Request& req) {
    CandidateQuery q;
    q.offset = IntParam(req, "offset", 0);
    const int64_t limit = IntParam(req, "limit", 50);
    if (limit < 1 || limit > 500) throw ApiError{400, "limit: expected 1 to 500"};
    q.limit = static_cast<int>(limit);
    q.verdict = req.has_param("verdict") ? req.get_param_value("verdict") : "";
    q.island = static_cast<int>(IntParam(req, "island", -1));
    q.sort = req.has_param("sort") ? req.get_param_value("sort") : "id";
    if (q.sort != "id" && q.sort != "speedup" && q.sort != "time") {
      throw ApiError{400, "sort: expected id, speedup or time"};
    }
    return Answer(run_of(req).Candidates(q));
  });
  api(R"(/api/runs/([^/]+)/candidates/([^/]+))", [run_of](const httplib::Request& req) {
    const std::string id = req.matches[2].str();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
    if (ec != std::errc() || p != id.data() + id.size()) {
      throw ApiError{400, "candidate id: expected an integer, got '" + id + "'"};
    }
    auto c = Answer(run_of(req).Candidate(n));
    if (c.is_null()) throw ApiError{404, "no candidate " + std::to_string(n) + " in this run"};
    return c;
  });

  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status != 404 || !res.body.empty()) return;  // the API's own errors stay
    if (req.path.starts_with("/api/")) {
      SendJson(res, {{"error", "no API endpoint " + req.path + " (docs/dashboard.md lists them)"}},
               404);
    } else {
      res.set_content(kNotFoundPage, "text/html; charset=utf-8");
    }
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendJson(res, {{"error", "internal error: " + what}}, 500);
      });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) {
      *error = "cannot bind " + options.host + " to any port";
      return false;
    }
  } else if (!server.bind_to_port(options.host, port)) {
    *error = "cannot bind " + options.host + ":" + std::to_string(port) +
             " (in use? pick another with --port)";
    return false;
  }
  const bool v6 = options.host.find(':') != std::string::npos;
  on_listen("http://" + (v6 ? "[" + options.host + "]" : options.host) + ":" +
            std::to_string(port) + "/");
  return server.listen_after_bind();
}

}  // namespace kf::web
