using System.Text;
using System.Text.RegularExpressions;

namespace RailCloud.WebPubSubEmulator;

public enum Permission
{
    SendToGroup,
    JoinLeaveGroup,
}

/// <summary>
/// What a connection may do with groups: from its roles (<c>webpubsub.joinLeaveGroup[.g]</c>,
/// <c>webpubsub.sendToGroup[.g]</c>, wildcard <c>webpubsub.joinLeaveGroups.&lt;pattern&gt;</c> /
/// <c>webpubsub.sendToGroups.&lt;pattern&gt;</c>) and from grants made over REST.
/// </summary>
public sealed class PermissionSet
{
    private readonly object _gate = new();
    private readonly HashSet<(Permission, string?)> _literal = [];
    private readonly List<(Permission, Regex)> _patterns = [];

    public PermissionSet(IEnumerable<string> roles)
    {
        foreach (var role in roles)
        {
            foreach (var permission in Enum.GetValues<Permission>())
            {
                var name = permission == Permission.SendToGroup ? "webpubsub.sendToGroup" : "webpubsub.joinLeaveGroup";
                if (role == name)
                {
                    _literal.Add((permission, null));
                }
                else if (role.StartsWith(name + ".", StringComparison.Ordinal))
                {
                    _literal.Add((permission, role[(name.Length + 1)..]));
                }
                else if (role.StartsWith(name + "s.", StringComparison.Ordinal) && WildcardToRegex(role[(name.Length + 2)..]) is { } regex)
                {
                    _patterns.Add((permission, regex));
                }
            }
        }
    }

    public bool Allows(Permission permission, string group)
    {
        lock (_gate)
        {
            return _literal.Contains((permission, null)) || _literal.Contains((permission, group))
                || _patterns.Any(p => p.Item1 == permission && p.Item2.IsMatch(group));
        }
    }

    /// <summary>REST check: without a target, only a whole-hub permission counts.</summary>
    public bool Has(Permission permission, string? target) => target is null ? HasWholeHub(permission) : Allows(permission, target);

    private bool HasWholeHub(Permission permission)
    {
        lock (_gate)
        {
            return _literal.Contains((permission, null));
        }
    }

    public void Grant(Permission permission, string? target)
    {
        lock (_gate)
        {
            _literal.Add((permission, target));
        }
    }

    public void Revoke(Permission permission, string? target)
    {
        lock (_gate)
        {
            if (target is null)
            {
                _literal.RemoveWhere(p => p.Item1 == permission);
                _patterns.RemoveAll(p => p.Item1 == permission);
            }
            else
            {
                _literal.Remove((permission, target));
            }
        }
    }

    /// <summary><c>?</c> one non-dot character, <c>*</c> a run of non-dots, <c>**</c> anything, <c>\</c> escapes; at most five <c>*</c>.</summary>
    internal static Regex? WildcardToRegex(string pattern)
    {
        if (pattern.Count(c => c == '*') > 5)
        {
            return null;
        }
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                regex.Append(Regex.Escape(pattern[++i].ToString()));
            }
            else if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                regex.Append(".*");
                i++;
            }
            else if (c == '*')
            {
                regex.Append("[^.]*");
            }
            else if (c == '?')
            {
                regex.Append("[^.]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }
}
