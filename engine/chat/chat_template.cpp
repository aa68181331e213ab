#include "chat/chat_template.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "chat/jinja_expression.h"
#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"
#include "tokenizer/gguf_tokenizer.h"

namespace moescope {

using namespace jinja;

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
        n->expr = parse_expression(s.body);
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
        n->expr = parse_expression(rest.substr(eq + 1));
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

  // Real templates nest a few blocks; 50 000 nested {% if %} would overflow the stack.
  static constexpr int max_block_depth = 64;
  struct BlockDepth {
    explicit BlockDepth(int& depth) : depth_(depth) {
      if (++depth_ > max_block_depth)
        fail("blocks nested deeper than " + std::to_string(max_block_depth) + " levels");
    }
    ~BlockDepth() { --depth_; }
    int& depth_;
  };

  std::unique_ptr<Node> parse_if(const std::string& condition) {
    const BlockDepth block(depth_);
    auto n = node(Node::Kind::branch);
    n->conditions.push_back(parse_expression(condition));
    for (;;) {
      n->bodies.push_back(parse_body({"elif", "else", "endif"}));
      const Segment& s = segs_[pos_++];
      const std::string kw = keyword(s);
      if (kw == "elif") {
        n->conditions.push_back(parse_expression(trim(s.body.substr(4))));
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
    const BlockDepth block(depth_);
    auto [name, iterable] = parse_loop_header(header);
    auto n = node(Node::Kind::loop, std::move(name));
    n->expr = std::move(iterable);
    n->bodies.push_back(parse_body({"else", "endfor"}));
    if (keyword(segs_[pos_++]) == "else") {
      n->bodies.push_back(parse_body({"endfor"}));
      ++pos_;
    }
    return n;
  }

  std::vector<Segment> segs_;
  std::size_t pos_ = 0;
  int depth_ = 0;
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

// A chat prompt is kilobytes; a template that doubles its text in a loop is stopped here.
constexpr std::size_t max_rendered_bytes = std::size_t(16) << 20;

void render_body(const Body& body, Scope& scope, std::string& out) {
  for (const auto& n : body) {
    render_node(*n, scope, out);
    if (out.size() > max_rendered_bytes)
      fail("the rendered text exceeds " + std::to_string(max_rendered_bytes >> 20) + " MiB");
  }
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
  // A .gguf file: tokenizer_config.json beside it when there is one, else its own.
  if (model_dir.extension() == ".gguf" && !std::filesystem::is_directory(model_dir)) {
    const auto folder = std::filesystem::absolute(model_dir).parent_path();
    if (path_exists(folder / "tokenizer_config.json")) return read_chat_template(folder);
    return read_gguf_chat_template(model_dir);
  }
  const auto path = model_dir / "tokenizer_config.json";
  if (!path_exists(path)) return std::nullopt;
  const auto j = read_json_file(path);
  if (!j.is_object()) throw EngineError(path.string() + ": not a JSON object");
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
