using System.Globalization;

namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// The OData <c>filter</c> of REST sends and bulk group operations, over <c>userId</c>, <c>connectionId</c> and
/// <c>groups</c>: <c>eq ne gt ge lt le</c>, <c>in</c> (<c>'g' in groups</c>, <c>userId in ('a','b')</c>),
/// <c>and or not</c>, parentheses, <c>length startswith endswith contains tolower toupper</c>, string, number and null
/// literals. Anything else is refused with a message naming it, never ignored.
/// </summary>
public sealed class ODataFilter
{
    private readonly Node _root;

    private ODataFilter(Node root) => _root = root;

    public static bool TryParse(string text, out ODataFilter? filter, out string? error)
    {
        filter = null;
        try
        {
            var parser = new Parser(Tokenize(text));
            var node = parser.ParseOr();
            parser.ExpectEnd();
            filter = new ODataFilter(node);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            error = $"Invalid filter '{text}': {ex.Message}";
            return false;
        }
    }

    public bool Matches(string connectionId, string? userId, IReadOnlyCollection<string> groups)
    {
        var value = _root.Evaluate(new Row(connectionId, userId, groups));
        return value is true;
    }

    private sealed record Row(string ConnectionId, string? UserId, IReadOnlyCollection<string> Groups);

    private abstract record Node
    {
        public abstract object? Evaluate(Row row);
    }

    private sealed record Literal(object? Value) : Node
    {
        public override object? Evaluate(Row row) => Value;
    }

    private sealed record Field(string Name) : Node
    {
        public override object? Evaluate(Row row) => Name switch
        {
            "userid" => row.UserId,
            "connectionid" => row.ConnectionId,
            _ => row.Groups,
        };
    }

    private sealed record ListNode(IReadOnlyList<Node> Items) : Node
    {
        public override object? Evaluate(Row row) => Items.Select(i => i.Evaluate(row)).ToList();
    }

    private sealed record Not(Node Inner) : Node
    {
        public override object? Evaluate(Row row) => Inner.Evaluate(row) is bool b ? !b : null;
    }

    private sealed record Binary(string Op, Node Left, Node Right) : Node
    {
        public override object? Evaluate(Row row)
        {
            var left = Left.Evaluate(row);
            if (Op == "and") return left is true && Right.Evaluate(row) is true;
            if (Op == "or") return left is true || Right.Evaluate(row) is true;
            var right = Right.Evaluate(row);
            if (Op == "in")
            {
                return right switch
                {
                    IReadOnlyCollection<string> set => left is string s && set.Contains(s),
                    List<object?> list => list.Any(item => Equals(item, left)),
                    _ => false,
                };
            }
            if (Op is "eq" or "ne")
            {
                var equal = Equals(Normalize(left), Normalize(right));
                return Op == "eq" ? equal : !equal;
            }
            int? order = (Normalize(left), Normalize(right)) switch
            {
                (string a, string b) => string.CompareOrdinal(a, b),
                (double a, double b) => a.CompareTo(b),
                _ => null,
            };
            return order is { } o && Op switch
            {
                "gt" => o > 0,
                "ge" => o >= 0,
                "lt" => o < 0,
                _ => o <= 0,
            };
        }

        private static object? Normalize(object? value) => value is int i ? (double)i : value;
    }

    private sealed record Call(string Name, IReadOnlyList<Node> Args) : Node
    {
        public override object? Evaluate(Row row)
        {
            var args = Args.Select(a => a.Evaluate(row)).ToArray();
            return Name switch
            {
                "length" => args[0] is string s ? (double)s.Length : args[0] is IReadOnlyCollection<string> c ? c.Count : null,
                "tolower" => (args[0] as string)?.ToLowerInvariant(),
                "toupper" => (args[0] as string)?.ToUpperInvariant(),
                "startswith" => args[0] is string a && args[1] is string b && a.StartsWith(b, StringComparison.Ordinal),
                "endswith" => args[0] is string a2 && args[1] is string b2 && a2.EndsWith(b2, StringComparison.Ordinal),
                _ => args[0] is string a3 && args[1] is string b3 && a3.Contains(b3, StringComparison.Ordinal),
            };
        }
    }

    private static readonly Dictionary<string, int> Arity = new()
    {
        ["length"] = 1,
        ["tolower"] = 1,
        ["toupper"] = 1,
        ["startswith"] = 2,
        ["endswith"] = 2,
        ["contains"] = 2,
    };

    private enum Kind { Identifier, String, Number, Open, Close, Comma, End }

    private sealed record Token(Kind Kind, string Text);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '(') { tokens.Add(new(Kind.Open, "(")); i++; continue; }
            if (c == ')') { tokens.Add(new(Kind.Close, ")")); i++; continue; }
            if (c == ',') { tokens.Add(new(Kind.Comma, ",")); i++; continue; }
            if (c == '\'')
            {
                var value = new System.Text.StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length) throw new FormatException("a string literal is not closed");
                    if (text[i] == '\'')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '\'') { value.Append('\''); i += 2; continue; }
                        i++;
                        break;
                    }
                    value.Append(text[i++]);
                }
                tokens.Add(new(Kind.String, value.ToString()));
                continue;
            }
            if (char.IsDigit(c) || (c == '-' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.')) i++;
                tokens.Add(new(Kind.Number, text[start..i]));
                continue;
            }
            if (char.IsLetter(c))
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_')) i++;
                tokens.Add(new(Kind.Identifier, text[start..i]));
                continue;
            }
            throw new FormatException($"unexpected character '{c}' at position {i}");
        }
        tokens.Add(new(Kind.End, ""));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int _at;

        private Token Peek => tokens[_at];

        private bool IsKeyword(string word) => Peek.Kind == Kind.Identifier && Peek.Text.Equals(word, StringComparison.OrdinalIgnoreCase);

        public void ExpectEnd()
        {
            if (Peek.Kind != Kind.End) throw new FormatException($"unexpected '{Peek.Text}'");
        }

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (IsKeyword("or")) { _at++; left = new Binary("or", left, ParseAnd()); }
            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (IsKeyword("and")) { _at++; left = new Binary("and", left, ParseUnary()); }
            return left;
        }

        private Node ParseUnary()
        {
            if (IsKeyword("not")) { _at++; return new Not(ParseUnary()); }
            var left = ParseOperand();
            if (Peek.Kind == Kind.Identifier)
            {
                var op = Peek.Text.ToLowerInvariant();
                if (op is "eq" or "ne" or "gt" or "ge" or "lt" or "le" or "in")
                {
                    _at++;
                    return new Binary(op, left, ParseOperand());
                }
                if (op is not ("and" or "or"))
                {
                    throw new FormatException($"operator '{Peek.Text}' is not supported (use eq, ne, gt, ge, lt, le, in, and, or, not)");
                }
            }
            return left;
        }

        private Node ParseOperand()
        {
            var token = tokens[_at++];
            switch (token.Kind)
            {
                case Kind.String:
                    return new Literal(token.Text);
                case Kind.Number:
                    return new Literal(double.Parse(token.Text, CultureInfo.InvariantCulture));
                case Kind.Open:
                    var first = ParseOr();
                    if (Peek.Kind == Kind.Comma || first is Literal)
                    {
                        var items = new List<Node> { first };
                        while (Peek.Kind == Kind.Comma) { _at++; items.Add(ParseOr()); }
                        Expect(Kind.Close);
                        return items.Count == 1 ? items[0] : new ListNode(items);
                    }
                    Expect(Kind.Close);
                    return first;
                case Kind.Identifier:
                    var name = token.Text.ToLowerInvariant();
                    if (name is "userid" or "connectionid" or "groups") return new Field(name);
                    if (name == "null") return new Literal(null);
                    if (name is "true" or "false") return new Literal(name == "true");
                    if (Arity.TryGetValue(name, out var arity) && Peek.Kind == Kind.Open)
                    {
                        _at++;
                        var args = new List<Node> { ParseOr() };
                        while (Peek.Kind == Kind.Comma) { _at++; args.Add(ParseOr()); }
                        Expect(Kind.Close);
                        if (args.Count != arity) throw new FormatException($"{name} takes {arity} argument(s)");
                        return new Call(name, args);
                    }
                    throw new FormatException($"'{token.Text}' is not supported (fields: userId, connectionId, groups; functions: {string.Join(", ", Arity.Keys)})");
                default:
                    throw new FormatException(token.Kind == Kind.End ? "the filter ends too early" : $"unexpected '{token.Text}'");
            }
        }

        private void Expect(Kind kind)
        {
            if (Peek.Kind != kind) throw new FormatException($"expected '{(kind == Kind.Close ? ")" : kind.ToString())}' but found '{Peek.Text}'");
            _at++;
        }
    }
}
