// RequestHeaders over a list of (name, value) fields, for the auth tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "frontend/auth/ascii.h"
#include "frontend/auth/auth_request.h"

namespace modelmux {

class ListHeaders : public RequestHeaders {
 public:
  ListHeaders() = default;
  explicit ListHeaders(std::vector<std::pair<std::string, std::string>> fields)
      : fields_(std::move(fields)) {}
  void Add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

  bool Find(std::string_view name, std::string_view* value) const override {
    for (const auto& [n, v] : fields_) {
      if (EqualsIgnoreCase(n, name)) {
        *value = v;
        return true;
      }
    }
    return false;
  }
  void ForEach(std::string_view name, absl::FunctionRef<void(std::string_view)> fn) const override {
    for (const auto& [n, v] : fields_) {
      if (EqualsIgnoreCase(n, name)) fn(v);
    }
  }
  void ForEachField(absl::FunctionRef<void(std::string_view, std::string_view)> fn) const override {
    for (const auto& [n, v] : fields_) fn(n, v);
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace modelmux
