#pragma once
// The expression half of the Jinja subset chat_template.h describes: values,
// a parser for expressions and their evaluation. Internal to the engine.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace moescope::jinja {

[[noreturn]] void fail(const std::string& what);  // throws EngineError("chat template: ...")
std::string trim(const std::string& s);           // Python's str.strip()

struct Value;
using List = std::vector<Value>;
using Dict = std::map<std::string, Value>;

struct Value {
  enum class Kind { undefined, none, boolean, integer, string, list, dict } kind = Kind::undefined;
  bool b = false;
  long long i = 0;
  std::string s;
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;

  static Value of(Kind k) {
    Value v;
    v.kind = k;
    return v;
  }
  static Value boolean(bool b) {
    Value v = of(Kind::boolean);
    v.b = b;
    return v;
  }
  static Value integer(long long i) {
    Value v = of(Kind::integer);
    v.i = i;
    return v;
  }
  static Value string(std::string s) {
    Value v = of(Kind::string);
    v.s = std::move(s);
    return v;
  }
  static Value none() { return of(Kind::none); }

  bool truthy() const {
    switch (kind) {
      case Kind::undefined:
      case Kind::none:
        return false;
      case Kind::boolean:
        return b;
      case Kind::integer:
        return i != 0;
      case Kind::string:
        return !s.empty();
      case Kind::list:
        return !list->empty();
      case Kind::dict:
        return !dict->empty();
    }
    return false;
  }

  std::string str() const {  // as {{ }} prints it
    switch (kind) {
      case Kind::undefined:
        return "";
      case Kind::none:
        return "None";
      case Kind::boolean:
        return b ? "True" : "False";
      case Kind::integer:
        return std::to_string(i);
      case Kind::string:
        return s;
      default:
        fail("cannot print a list or a mapping");
    }
  }
};

class Scope {
 public:
  explicit Scope(const Scope* parent = nullptr) : parent_(parent) {}
  Value get(const std::string& name) const {
    if (const auto it = vars_.find(name); it != vars_.end()) return it->second;
    return parent_ ? parent_->get(name) : Value{};
  }
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }

 private:
  const Scope* parent_;
  std::map<std::string, Value> vars_;
};

struct Expr;
struct ExprDeleter {
  void operator()(Expr* e) const;
};
using ExprPtr = std::unique_ptr<Expr, ExprDeleter>;

// The whole of `src` as one expression; throws for anything outside the subset.
ExprPtr parse_expression(const std::string& src);
// `name in expression`, the header of a for loop.
std::pair<std::string, ExprPtr> parse_loop_header(const std::string& src);

Value evaluate(const Expr& e, const Scope& scope);

}  // namespace moescope::jinja
