#include "chat_template.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.h"

namespace moescope {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw EngineError("chat template: " + what);
}

// ---- values ---------------------------------------------------------------

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

struct Expr {
  enum class Kind { literal, name, list, unary, binary, subscript, attribute, test, filter, call };
  Kind kind;
  std::string op;  // operator, name, attribute, test or filter
  Value value;     // literal
  std::vector<std::unique_ptr<Expr>> args;
};
using ExprPtr = std::unique_ptr<Expr>;

ExprPtr make(Expr::Kind kind, std::string op = {}, std::vector<ExprPtr> args = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = kind, e->op = std::move(op), e->args = std::move(args);
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
  ExprPtr parse() { return parse_or(); }
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
      return make(Expr::Kind::unary, "not", list_of(parse_not()));
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
      return make(Expr::Kind::unary, "-", list_of(parse_unary()));
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
        return literal(Value::integer(std::stoll(t.text)));
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
};

// ---- evaluation -----------------------------------------------------------

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

long long as_int(const Value& v, const char* op) {
  if (v.kind == Value::Kind::integer) return v.i;
  if (v.kind == Value::Kind::boolean) return v.b;
  fail(std::string("'") + op + "' needs numbers");
}

Value evaluate(const Expr& e, const Scope& scope);

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
  if (op == "~") return Value::string(a.str() + b.str());
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
  if (op == "+" && a.kind == K::string && b.kind == K::string) return Value::string(a.s + b.s);
  if (op == "+" && a.kind == K::list && b.kind == K::list) {
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
  if (op == "+") return Value::integer(x + y);
  if (op == "-") return Value::integer(x - y);
  if (op == "*") return Value::integer(x * y);
  if (y == 0) fail("division by zero");
  if (op == "%") return Value::integer(((x % y) + y) % y);  // Python's sign
  if (op == "//") return Value::integer(x / y - ((x % y != 0) && ((x < 0) != (y < 0))));
  fail("unknown operator " + op);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
}

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

}  // namespace

// ---- statements -----------------------------------------------------------

struct ChatTemplate::Node {
  enum class Kind { text, output, branch, loop, set } kind;
  std::string text;  // text, or the variable of loop / set
  ExprPtr expr;      // output, set value, loop iterable
  // branch: conditions[i] guards bodies[i]; one more body than conditions is the else.
  std::vector<ExprPtr> conditions;
  std::vector<std::vector<std::unique_ptr<Node>>> bodies;  // loop: body, then optional else
};

namespace {

using Node = ChatTemplate::Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Segment {
  enum class Type { text, output, statement } type;
  std::string body;
};

// Cuts the source into text, {{ }} and {% %}, applying '-' whitespace control,
// trim_blocks and lstrip_blocks; drops {# #}.
std::vector<Segment> segments(const std::string& src) {
  std::vector<Segment> out;
  std::size_t i = 0;
  bool strip_next = false, trim_newline = false;
  const auto add_text = [&](std::string text) {
    if (trim_newline && text.starts_with('\n')) text.erase(0, 1);
    if (strip_next) text.erase(0, text.find_first_not_of(" \t\n\r"));
    if (strip_next && text.find_first_not_of(" \t\n\r") == std::string::npos) text.clear();
    strip_next = trim_newline = false;
    if (!text.empty()) out.push_back({Segment::Type::text, std::move(text)});
  };
  while (i < src.size()) {
    std::size_t open = src.find('{', i);
    while (open != std::string::npos && open + 1 < src.size() && src[open + 1] != '{' &&
           src[open + 1] != '%' && src[open + 1] != '#')
      open = src.find('{', open + 1);
    if (open == std::string::npos || open + 1 >= src.size()) {
      add_text(src.substr(i));
      break;
    }
    std::string text = src.substr(i, open - i);
    const char kind = src[open + 1];
    const bool strip_before = open + 2 < src.size() && src[open + 2] == '-';
    const bool keep_before = open + 2 < src.size() && src[open + 2] == '+';
    if (strip_before) {
      const auto last = text.find_last_not_of(" \t\n\r");
      text.erase(last == std::string::npos ? 0 : last + 1);
    } else if (kind != '{' && !keep_before) {
      // lstrip_blocks: spaces and tabs between a line start and a block tag go.
      std::size_t from = open;
      while (from > i && (src[from - 1] == ' ' || src[from - 1] == '\t')) --from;
      std::size_t line = from;
      while (line > 0 && (src[line - 1] == ' ' || src[line - 1] == '\t')) --line;
      if (line == 0 || src[line - 1] == '\n') text.erase(from - i);
    }
    add_text(std::move(text));
    const std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    std::size_t end = open + 2;
    char quote = 0;
    for (; end + 1 < src.size(); ++end) {
      if (quote) {
        if (src[end] == '\\')
          ++end;
        else if (src[end] == quote)
          quote = 0;
      } else if (kind != '#' && (src[end] == '\'' || src[end] == '"')) {
        quote = src[end];
      } else if (src.compare(end, 2, close) == 0) {
        break;
      }
    }
    if (end + 1 >= src.size()) fail("unclosed '{" + std::string(1, kind) + "'");
    const std::size_t body_begin = open + 2 + (strip_before || keep_before);
    const bool strip_after = end > body_begin && src[end - 1] == '-';
    const std::string body = src.substr(body_begin, end - body_begin - strip_after);
    if (kind == '{') out.push_back({Segment::Type::output, body});
    if (kind == '%') out.push_back({Segment::Type::statement, trim(body)});
    i = end + 2;
    strip_next = strip_after;
    trim_newline = kind != '{';  // trim_blocks
  }
  return out;
}

// The first word of a statement.
std::string keyword(const Segment& s) {
  return s.body.substr(0, s.body.find_first_of(" \t\n("));
}

class Parser {
 public:
  explicit Parser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  // Parses until one of `stops` (a statement keyword), which is left unconsumed.
  Body parse_body(std::initializer_list<const char*> stops) {
    Body body;
    while (pos_ < segs_.size()) {
      const Segment& s = segs_[pos_];
      if (s.type == Segment::Type::text) {
        body.push_back(node(Node::Kind::text, s.body));
        ++pos_;
        continue;
      }
      if (s.type == Segment::Type::output) {
        auto n = node(Node::Kind::output);
        n->expr = ExprParser(s.body).parse_all();
        body.push_back(std::move(n));
        ++pos_;
        continue;
      }
      const std::string kw = keyword(s);
      for (const char* stop : stops)
        if (kw == stop) return body;
      ++pos_;
      const std::string rest = trim(s.body.substr(kw.size()));
      if (kw == "if") {
        body.push_back(parse_if(rest));
      } else if (kw == "for") {
        body.push_back(parse_for(rest));
      } else if (kw == "set") {
        const auto eq = rest.find('=');
        const std::string name = trim(rest.substr(0, eq));
        const bool identifier = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
        if (eq == std::string::npos || !identifier || rest.compare(eq, 2, "==") == 0)
          fail("unsupported {% set " + rest + " %} (only `set name = expression`)");
        auto n = node(Node::Kind::set, name);
        n->expr = ExprParser(rest.substr(eq + 1)).parse_all();
        body.push_back(std::move(n));
      } else {
        fail("unsupported statement {% " + s.body + " %}");
      }
    }
    if (stops.size()) fail(std::string("missing {% ") + *(stops.end() - 1) + " %}");
    return body;
  }

 private:
  static std::unique_ptr<Node> node(Node::Kind kind, std::string text = {}) {
    auto n = std::make_unique<Node>();
    n->kind = kind, n->text = std::move(text);
    return n;
  }

  std::unique_ptr<Node> parse_if(const std::string& condition) {
    auto n = node(Node::Kind::branch);
    n->conditions.push_back(ExprParser(condition).parse_all());
    for (;;) {
      n->bodies.push_back(parse_body({"elif", "else", "endif"}));
      const Segment& s = segs_[pos_++];
      const std::string kw = keyword(s);
      if (kw == "elif") {
        n->conditions.push_back(ExprParser(trim(s.body.substr(4))).parse_all());
      } else if (kw == "else") {
        n->bodies.push_back(parse_body({"endif"}));
        ++pos_;
        return n;
      } else {
        return n;
      }
    }
  }

  std::unique_ptr<Node> parse_for(const std::string& header) {
    ExprParser p(header);
    auto n = node(Node::Kind::loop, p.take_name());
    p.expect_name("in");
    n->expr = p.parse();
    p.expect_end();
    n->bodies.push_back(parse_body({"else", "endfor"}));
    if (keyword(segs_[pos_++]) == "else") {
      n->bodies.push_back(parse_body({"endfor"}));
      ++pos_;
    }
    return n;
  }

  std::vector<Segment> segs_;
  std::size_t pos_ = 0;
};

void render_body(const Body& body, Scope& scope, std::string& out);

void render_node(const Node& n, Scope& scope, std::string& out) {
  switch (n.kind) {
    case Node::Kind::text:
      out += n.text;
      return;
    case Node::Kind::output:
      out += evaluate(*n.expr, scope).str();
      return;
    case Node::Kind::set:
      scope.set(n.text, evaluate(*n.expr, scope));
      return;
    case Node::Kind::branch:
      for (std::size_t k = 0; k < n.conditions.size(); ++k)
        if (evaluate(*n.conditions[k], scope).truthy()) return render_body(n.bodies[k], scope, out);
      if (n.bodies.size() > n.conditions.size()) render_body(n.bodies.back(), scope, out);
      return;
    case Node::Kind::loop: {
      const Value items = evaluate(*n.expr, scope);
      if (items.kind != Value::Kind::list) fail("{% for %} needs a list");
      const auto count = static_cast<long long>(items.list->size());
      for (long long k = 0; k < count; ++k) {
        Scope inner(&scope);  // {% set %} inside a loop stays inside, as in Jinja
        inner.set(n.text, (*items.list)[k]);
        Value loop = Value::of(Value::Kind::dict);
        loop.dict = std::make_shared<Dict>(Dict{{"index", Value::integer(k + 1)},
                                                {"index0", Value::integer(k)},
                                                {"first", Value::boolean(k == 0)},
                                                {"last", Value::boolean(k == count - 1)},
                                                {"length", Value::integer(count)}});
        inner.set("loop", loop);
        render_body(n.bodies[0], inner, out);
      }
      if (count == 0 && n.bodies.size() > 1) render_body(n.bodies[1], scope, out);
      return;
    }
  }
}

void render_body(const Body& body, Scope& scope, std::string& out) {
  for (const auto& n : body) render_node(*n, scope, out);
}

}  // namespace

namespace {
// Jinja drops one newline at the very end of a template (keep_trailing_newline=False).
std::string without_trailing_newline(const std::string& source) {
  return source.ends_with('\n') ? source.substr(0, source.size() - 1) : source;
}
}  // namespace

ChatTemplate::ChatTemplate(const std::string& source)
    : body_(Parser(segments(without_trailing_newline(source))).parse_body({})) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 const std::map<std::string, std::string>& variables) const {
  Scope scope;
  Value list = Value::of(Value::Kind::list);
  list.list = std::make_shared<List>();
  for (const auto& m : messages) {
    Value message = Value::of(Value::Kind::dict);
    message.dict = std::make_shared<Dict>(
        Dict{{"role", Value::string(m.role)}, {"content", Value::string(m.content)}});
    list.list->push_back(std::move(message));
  }
  scope.set("messages", list);
  scope.set("add_generation_prompt", Value::boolean(add_generation_prompt));
  for (const auto& [name, value] : variables) scope.set(name, Value::string(value));
  std::string out;
  render_body(body_, scope, out);
  return out;
}

std::optional<std::string> read_chat_template(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "tokenizer_config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw EngineError(path.string() + ": not a JSON object");
  const auto it = j.find("chat_template");
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array())
    for (const auto& t : *it)
      if (t.is_object() && t.value("name", "") == "default" && t.contains("template") &&
          t["template"].is_string())
        return t["template"].get<std::string>();
  throw EngineError(path.string() +
                    ": \"chat_template\" must be a string or a list with a \"default\" template");
}

}  // namespace moescope
