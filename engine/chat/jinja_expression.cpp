#include "chat/jinja_expression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "core/error.h"

namespace moescope::jinja {

void fail(const std::string& what) {
  throw EngineError("chat template: " + what);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
}

namespace {

bool equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.kind == K::integer && b.kind == K::boolean) return a.i == b.b;
  if (a.kind == K::boolean && b.kind == K::integer) return a.b == b.i;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::undefined:
    case K::none:
      return true;
    case K::boolean:
      return a.b == b.b;
    case K::integer:
      return a.i == b.i;
    case K::string:
      return a.s == b.s;
    case K::list:
      if (a.list->size() != b.list->size()) return false;
      for (std::size_t k = 0; k < a.list->size(); ++k)
        if (!equal((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case K::dict:
      return a.dict == b.dict;
  }
  return false;
}

// ---- expressions ----------------------------------------------------------

struct Token {
  enum class Type { name, string, integer, op, end } type;
  std::string text;
};

std::vector<Token> lex(const std::string& src) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < src.size();) {
    const char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < src.size() && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_'))
        ++j;
      out.push_back({Token::Type::name, src.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      out.push_back({Token::Type::integer, src.substr(i, j - i)});
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string s;
      std::size_t j = i + 1;
      for (; j < src.size() && src[j] != c; ++j) {
        if (src[j] != '\\' || j + 1 == src.size()) {
          s += src[j];
          continue;
        }
        const char e = src[++j];
        s += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
      }
      if (j >= src.size()) fail("unterminated string in `" + src + "`");
      out.push_back({Token::Type::string, std::move(s)});
      i = j + 1;
    } else {
      static const char* const ops[] = {"==", "!=", "<=", ">=", "//", "(", ")", "[", "]", ".",
                                        ",",  "+",  "-",  "*",  "/",  "%", "~", "<", ">", "|"};
      const char* found = nullptr;
      for (const char* op : ops)
        if (src.compare(i, std::strlen(op), op) == 0) {
          found = op;
          break;
        }
      if (!found) fail(std::string("unexpected character '") + c + "' in `" + src + "`");
      out.push_back({Token::Type::op, found});
      i += std::strlen(found);
    }
  }
  out.push_back({Token::Type::end, ""});
  return out;
}

}  // namespace

struct Expr {
  enum class Kind { literal, name, list, unary, binary, subscript, attribute, test, filter, call };
  Kind kind;
  std::string op;  // operator, name, attribute, test or filter
  Value value;     // literal
  std::vector<ExprPtr> args;
  int depth = 1;  // of the tree below: evaluation and deletion recurse this deep
};

namespace {

long long integer_literal(const std::string& text) {
  long long v = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (error != std::errc() || end != text.data() + text.size())
    fail("integer literal " + text.substr(0, 40) + " does not fit in 64 bits");
  return v;
}

// Templates are small; deeper trees (a 100 000-term sum, 100 000 parentheses) would
// overflow the stack when parsed, evaluated or freed, so they are refused.
constexpr int max_expression_depth = 256;

ExprPtr make(Expr::Kind kind, std::string op = {}, std::vector<ExprPtr> args = {}) {
  ExprPtr e(new Expr);
  e->kind = kind, e->op = std::move(op), e->args = std::move(args);
  for (const ExprPtr& a : e->args) e->depth = std::max(e->depth, a->depth + 1);
  if (e->depth > max_expression_depth)
    fail("expression nested deeper than " + std::to_string(max_expression_depth) + " levels");
  return e;
}

template <class... E>
std::vector<ExprPtr> list_of(E&&... e) {
  std::vector<ExprPtr> v;
  (v.push_back(std::move(e)), ...);
  return v;
}

class ExprParser {
 public:
  explicit ExprParser(const std::string& src) : src_(src), tokens_(lex(src)) {}

  ExprPtr parse_all() {
    ExprPtr e = parse();
    expect_end();
    return e;
  }
  ExprPtr parse() {
    return nested([&] { return parse_or(); });
  }
  bool at_name(const char* name) const {
    return peek().type == Token::Type::name && peek().text == name;
  }
  std::string take_name() {
    if (peek().type != Token::Type::name) fail("expected a name in `" + src_ + "`");
    return tokens_[pos_++].text;
  }
  void expect_name(const char* name) {
    if (!at_name(name)) fail(std::string("expected '") + name + "' in `" + src_ + "`");
    ++pos_;
  }
  void expect_op(const char* op) {
    if (!at_op(op)) fail(std::string("expected '") + op + "' in `" + src_ + "`");
    ++pos_;
  }
  bool at_op(const char* op) const { return peek().type == Token::Type::op && peek().text == op; }
  void expect_end() const {
    if (peek().type != Token::Type::end)
      fail("unsupported syntax near '" + peek().text + "' in `" + src_ + "`");
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }

  // Each nested bracket, list, 'not' or '-' recurses through the grammar: bounded.
  template <class Parse>
  ExprPtr nested(Parse parse) {
    if (++nesting_ > max_expression_depth / 4)
      fail("expression nested deeper than " + std::to_string(max_expression_depth / 4) +
           " levels in `" + src_.substr(0, 60) + "...`");
    ExprPtr e = parse();
    --nesting_;
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      ++pos_;
      left = make(Expr::Kind::binary, "or", list_of(std::move(left), parse_and()));
    }
    return left;
  }
  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      ++pos_;
      left = make(Expr::Kind::binary, "and", list_of(std::move(left), parse_not()));
    }
    return left;
  }
  ExprPtr parse_not() {
    if (at_name("not")) {
      ++pos_;
      return make(Expr::Kind::unary, "not", list_of(nested([&] { return parse_not(); })));
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    ExprPtr left = parse_concat();
    for (;;) {
      std::string op;
      if (peek().type == Token::Type::op &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        op = tokens_[pos_++].text;
      } else if (at_name("in")) {
        ++pos_, op = "in";
      } else if (at_name("not") && tokens_[pos_ + 1].type == Token::Type::name &&
                 tokens_[pos_ + 1].text == "in") {
        pos_ += 2, op = "not in";
      } else {
        return left;
      }
      left = make(Expr::Kind::binary, op, list_of(std::move(left), parse_concat()));
    }
  }
  ExprPtr parse_concat() {
    ExprPtr left = parse_add();
    while (at_op("~")) {
      ++pos_;
      left = make(Expr::Kind::binary, "~", list_of(std::move(left), parse_add()));
    }
    return left;
  }
  ExprPtr parse_add() {
    ExprPtr left = parse_mul();
    while (at_op("+") || at_op("-")) {
      const std::string op = tokens_[pos_++].text;
      left = make(Expr::Kind::binary, op, list_of(std::move(left), parse_mul()));
    }
    return left;
  }
  ExprPtr parse_mul() {
    ExprPtr left = parse_unary();
    while (at_op("*") || at_op("%") || at_op("//")) {
      const std::string op = tokens_[pos_++].text;
      left = make(Expr::Kind::binary, op, list_of(std::move(left), parse_unary()));
    }
    return left;
  }
  ExprPtr parse_unary() {
    if (at_op("-")) {
      ++pos_;
      return make(Expr::Kind::unary, "-", list_of(nested([&] { return parse_unary(); })));
    }
    ExprPtr e = parse_postfix(parse_primary());
    while (at_op("|")) {  // filters
      ++pos_;
      const std::string filter = take_name();
      if (filter != "trim" && filter != "length" && filter != "lower" && filter != "upper")
        fail("unsupported filter '" + filter + "' in `" + src_ + "`");
      e = make(Expr::Kind::filter, filter, list_of(std::move(e)));
    }
    if (at_name("is")) {
      ++pos_;
      std::string test = take_name();
      const bool negated = test == "not";
      if (negated) test = take_name();
      if (test != "defined" && test != "undefined" && test != "none" && test != "string")
        fail("unsupported test 'is " + test + "' in `" + src_ + "`");
      if (negated) test = "not " + test;
      e = make(Expr::Kind::test, test, list_of(std::move(e)));
    }
    return e;
  }
  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      if (at_op("[")) {
        ++pos_;
        e = make(Expr::Kind::subscript, "", list_of(std::move(e), parse()));
        expect_op("]");
      } else if (at_op(".")) {
        ++pos_;
        e = make(Expr::Kind::attribute, take_name(), list_of(std::move(e)));
      } else if (at_op("(")) {
        ++pos_;
        if (e->kind != Expr::Kind::name)
          fail("only named functions can be called in `" + src_ + "`");
        std::vector<ExprPtr> args;
        while (!at_op(")")) {
          args.push_back(parse());
          if (!at_op(")")) expect_op(",");
        }
        ++pos_;
        if (e->op != "raise_exception") fail("unsupported function '" + e->op + "'");
        e = make(Expr::Kind::call, e->op, std::move(args));
      } else {
        return e;
      }
    }
  }
  ExprPtr parse_primary() {
    const Token t = peek();
    ++pos_;
    auto literal = [](Value v) {
      auto e = make(Expr::Kind::literal);
      e->value = std::move(v);
      return e;
    };
    switch (t.type) {
      case Token::Type::string:
        return literal(Value::string(t.text));
      case Token::Type::integer:
        return literal(Value::integer(integer_literal(t.text)));
      case Token::Type::name:
        if (t.text == "true" || t.text == "True") return literal(Value::boolean(true));
        if (t.text == "false" || t.text == "False") return literal(Value::boolean(false));
        if (t.text == "none" || t.text == "None") return literal(Value::none());
        return make(Expr::Kind::name, t.text);
      case Token::Type::op:
        if (t.text == "(") {
          ExprPtr e = parse();
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          std::vector<ExprPtr> items;
          while (!at_op("]")) {
            items.push_back(parse());
            if (!at_op("]")) expect_op(",");
          }
          ++pos_;
          return make(Expr::Kind::list, "", std::move(items));
        }
        break;
      case Token::Type::end:
        break;
    }
    fail("unexpected '" + t.text + "' in `" + src_ + "`");
  }

  std::string src_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int nesting_ = 0;
};

// ---- evaluation -----------------------------------------------------------

long long as_int(const Value& v, const char* op) {
  if (v.kind == Value::Kind::integer) return v.i;
  if (v.kind == Value::Kind::boolean) return v.b;
  fail(std::string("'") + op + "' needs numbers");
}

Value binary(const std::string& op, const Expr& l, const Expr& r, const Scope& scope) {
  using K = Value::Kind;
  if (op == "and") {
    Value a = evaluate(l, scope);
    return a.truthy() ? evaluate(r, scope) : a;
  }
  if (op == "or") {
    Value a = evaluate(l, scope);
    return a.truthy() ? a : evaluate(r, scope);
  }
  const Value a = evaluate(l, scope), b = evaluate(r, scope);
  if (op == "==") return Value::boolean(equal(a, b));
  if (op == "!=") return Value::boolean(!equal(a, b));
  // A template that doubles a string or list in a loop grows exponentially: bounded.
  constexpr std::size_t max_size = std::size_t(1) << 24;
  const auto bounded = [&](std::size_t size) {
    if (size > max_size)
      fail("'" + op + "' would make a value of " + std::to_string(size) + " elements or bytes");
  };
  if (op == "~") {
    std::string joined = a.str();
    const std::string right = b.str();
    bounded(joined.size() + right.size());
    return Value::string(joined + right);
  }
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.kind == K::string) {
      found = a.kind == K::string && b.s.find(a.s) != std::string::npos;
    } else if (b.kind == K::list) {
      for (const auto& x : *b.list) found = found || equal(a, x);
    } else if (b.kind == K::dict) {
      found = a.kind == K::string && b.dict->count(a.s);
    } else {
      fail("'in' needs a string, list or mapping on the right");
    }
    return Value::boolean(op == "in" ? found : !found);
  }
  if (op == "+" && a.kind == K::string && b.kind == K::string) {
    bounded(a.s.size() + b.s.size());
    return Value::string(a.s + b.s);
  }
  if (op == "+" && a.kind == K::list && b.kind == K::list) {
    bounded(a.list->size() + b.list->size());
    Value v = Value::of(K::list);
    v.list = std::make_shared<List>(*a.list);
    v.list->insert(v.list->end(), b.list->begin(), b.list->end());
    return v;
  }
  if (op == "+" && (a.kind == K::string || b.kind == K::string))
    fail("cannot add " + std::string(a.kind == K::string ? "a string and a non-string"
                                                         : "a non-string and a string"));
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    const int c = a.kind == K::string && b.kind == K::string
                      ? a.s.compare(b.s)
                      : (as_int(a, op.c_str()) > as_int(b, op.c_str())) -
                            (as_int(a, op.c_str()) < as_int(b, op.c_str()));
    return Value::boolean(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
  }
  const long long x = as_int(a, op.c_str()), y = as_int(b, op.c_str());
  // Python's integers do not overflow; 64 bits do, and a template needs no more: refused.
  long long out = 0;
  const auto checked = [&](bool overflowed) {
    if (overflowed) fail("integer overflow in '" + op + "'");
    return Value::integer(out);
  };
  if (op == "+") return checked(__builtin_add_overflow(x, y, &out));
  if (op == "-") return checked(__builtin_sub_overflow(x, y, &out));
  if (op == "*") return checked(__builtin_mul_overflow(x, y, &out));
  if (y == 0) fail("division by zero");
  if (y == -1) {  // x % -1 and x / -1 trap for the most negative x
    if (op == "%") return Value::integer(0);
    if (op == "//") return checked(__builtin_sub_overflow(0LL, x, &out));
  }
  const long long rem = x % y;
  const bool floor_differs = rem != 0 && ((rem < 0) != (y < 0));  // Python rounds toward -inf
  if (op == "%") return Value::integer(floor_differs ? rem + y : rem);
  if (op == "//") return Value::integer(x / y - floor_differs);
  fail("unknown operator " + op);
}

}  // namespace

Value evaluate(const Expr& e, const Scope& scope) {
  using K = Value::Kind;
  switch (e.kind) {
    case Expr::Kind::literal:
      return e.value;
    case Expr::Kind::name:
      return scope.get(e.op);
    case Expr::Kind::list: {
      Value v = Value::of(K::list);
      v.list = std::make_shared<List>();
      for (const auto& a : e.args) v.list->push_back(evaluate(*a, scope));
      return v;
    }
    case Expr::Kind::unary: {
      const Value v = evaluate(*e.args[0], scope);
      if (e.op == "not") return Value::boolean(!v.truthy());
      return Value::integer(-as_int(v, "-"));
    }
    case Expr::Kind::binary:
      return binary(e.op, *e.args[0], *e.args[1], scope);
    case Expr::Kind::subscript:
    case Expr::Kind::attribute: {
      const Value base = evaluate(*e.args[0], scope);
      const Value key =
          e.kind == Expr::Kind::attribute ? Value::string(e.op) : evaluate(*e.args[1], scope);
      if (base.kind == K::dict && key.kind == K::string) {
        const auto it = base.dict->find(key.s);
        return it == base.dict->end() ? Value{} : it->second;
      }
      if (base.kind == K::list && key.kind == K::integer) {
        const long long n = static_cast<long long>(base.list->size());
        const long long k = key.i < 0 ? key.i + n : key.i;
        if (k < 0 || k >= n) return Value{};
        return (*base.list)[k];
      }
      if (base.kind == K::undefined) fail("cannot look into an undefined value");
      return Value{};
    }
    case Expr::Kind::test: {
      const Value v = evaluate(*e.args[0], scope);
      const bool negate = e.op.starts_with("not ");
      const std::string test = negate ? e.op.substr(4) : e.op;
      bool result;
      if (test == "defined")
        result = v.kind != K::undefined;
      else if (test == "undefined")
        result = v.kind == K::undefined;
      else if (test == "none")
        result = v.kind == K::none;
      else if (test == "string")
        result = v.kind == K::string;
      else
        fail("unsupported test 'is " + test + "'");
      return Value::boolean(result != negate);
    }
    case Expr::Kind::filter: {
      const Value v = evaluate(*e.args[0], scope);
      if (e.op == "trim") return Value::string(trim(v.str()));
      if (e.op == "lower" || e.op == "upper") {
        std::string s = v.str();
        for (char& c : s)
          c = static_cast<char>(e.op == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                                : std::toupper(static_cast<unsigned char>(c)));
        return Value::string(s);
      }
      if (e.op == "length") {
        if (v.kind == K::string) return Value::integer(static_cast<long long>(v.s.size()));
        if (v.kind == K::list) return Value::integer(static_cast<long long>(v.list->size()));
        if (v.kind == K::dict) return Value::integer(static_cast<long long>(v.dict->size()));
        fail("'length' needs a string, list or mapping");
      }
      fail("unsupported filter '" + e.op + "'");
    }
    case Expr::Kind::call:
      if (e.op == "raise_exception")
        fail(e.args.empty() ? std::string("raise_exception()") : evaluate(*e.args[0], scope).str());
      fail("unsupported function '" + e.op + "'");
  }
  return Value{};
}

void ExprDeleter::operator()(Expr* e) const {
  delete e;
}

ExprPtr parse_expression(const std::string& src) {
  return ExprParser(src).parse_all();
}

std::pair<std::string, ExprPtr> parse_loop_header(const std::string& src) {
  ExprParser p(src);
  std::string name = p.take_name();
  p.expect_name("in");
  ExprPtr e = p.parse();
  p.expect_end();
  return {std::move(name), std::move(e)};
}

}  // namespace moescope::jinja
