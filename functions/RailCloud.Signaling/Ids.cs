using System.Text.RegularExpressions;
using RailCloud.Protocol;

namespace RailCloud.Signaling;

/// <summary>Ids of the contract (accounts, kiosks, crew, sessions): <see cref="Limits.IdPattern"/>, checked the same way everywhere.</summary>
public static partial class Ids
{
    [GeneratedRegex(Limits.IdPattern)]
    public static partial Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    /// <summary>An id as it may be echoed in a message: at most 64 characters.</summary>
    public static string Shown(string id) => id.Length > 64 ? id[..64] + "…" : id;
}
