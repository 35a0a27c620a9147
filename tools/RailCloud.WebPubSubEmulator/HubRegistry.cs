using System.Collections.Concurrent;

namespace RailCloud.WebPubSubEmulator;

/// <summary>All hubs; a hub exists as soon as anything names it, as in the service.</summary>
public sealed class HubRegistry
{
    private readonly ConcurrentDictionary<string, EmulatorHub> _hubs = new(StringComparer.OrdinalIgnoreCase);

    public EmulatorHub Get(string hub) => _hubs.GetOrAdd(hub, name => new EmulatorHub(name));

    public IEnumerable<EmulatorHub> All => _hubs.Values;
}

/// <summary>One hub's connections, groups and users. Group membership is guarded by one lock per hub.</summary>
public sealed class EmulatorHub(string name)
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, ClientConnection> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<ClientConnection>> _groups = new(StringComparer.Ordinal);
    // Groups a user was added to: its current connections join, and so do the ones it opens later.
    private readonly Dictionary<string, HashSet<string>> _userGroups = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public int Count => _connections.Count;

    public void Add(ClientConnection connection, IEnumerable<string> initialGroups)
    {
        lock (_gate)
        {
            _connections[connection.Id] = connection;
            foreach (var group in initialGroups)
            {
                JoinLocked(connection, group);
            }
            if (connection.UserId is { } user && _userGroups.TryGetValue(user, out var groups))
            {
                foreach (var group in groups)
                {
                    JoinLocked(connection, group);
                }
            }
        }
    }

    public void Remove(ClientConnection connection)
    {
        lock (_gate)
        {
            _connections.TryRemove(new KeyValuePair<string, ClientConnection>(connection.Id, connection));
            foreach (var group in connection.Groups)
            {
                LeaveGroupSetLocked(connection, group);
            }
            connection.Groups.Clear();
        }
    }

    public ClientConnection? Find(string connectionId) => _connections.TryGetValue(connectionId, out var c) ? c : null;

    public IReadOnlyList<ClientConnection> Connections() => [.. _connections.Values.Where(c => !c.Ended)];

    public IReadOnlyList<ClientConnection> UserConnections(string userId) =>
        [.. _connections.Values.Where(c => !c.Ended && c.UserId == userId)];

    public IReadOnlyList<ClientConnection> GroupConnections(string group)
    {
        lock (_gate)
        {
            return _groups.TryGetValue(group, out var set) ? [.. set.Where(c => !c.Ended)] : [];
        }
    }

    public IReadOnlyList<string> GroupsOf(ClientConnection connection)
    {
        lock (_gate)
        {
            return [.. connection.Groups];
        }
    }

    public bool Join(ClientConnection connection, string group)
    {
        lock (_gate)
        {
            return !connection.Ended && JoinLocked(connection, group);
        }
    }

    public bool Leave(ClientConnection connection, string group)
    {
        lock (_gate)
        {
            if (!connection.Groups.Remove(group))
            {
                return false;
            }
            LeaveGroupSetLocked(connection, group);
            return true;
        }
    }

    public void LeaveAll(ClientConnection connection)
    {
        lock (_gate)
        {
            foreach (var group in connection.Groups)
            {
                LeaveGroupSetLocked(connection, group);
            }
            connection.Groups.Clear();
        }
    }

    public void AddUserToGroup(string userId, string group)
    {
        lock (_gate)
        {
            if (!_userGroups.TryGetValue(userId, out var groups))
            {
                _userGroups[userId] = groups = new HashSet<string>(StringComparer.Ordinal);
            }
            groups.Add(group);
            foreach (var connection in _connections.Values.Where(c => c.UserId == userId && !c.Ended))
            {
                JoinLocked(connection, group);
            }
        }
    }

    public void RemoveUserFromGroup(string userId, string group)
    {
        lock (_gate)
        {
            if (_userGroups.TryGetValue(userId, out var groups))
            {
                groups.Remove(group);
            }
            foreach (var connection in _connections.Values.Where(c => c.UserId == userId))
            {
                if (connection.Groups.Remove(group))
                {
                    LeaveGroupSetLocked(connection, group);
                }
            }
        }
    }

    public void RemoveUserFromAllGroups(string userId)
    {
        lock (_gate)
        {
            _userGroups.Remove(userId);
            foreach (var connection in _connections.Values.Where(c => c.UserId == userId))
            {
                foreach (var group in connection.Groups)
                {
                    LeaveGroupSetLocked(connection, group);
                }
                connection.Groups.Clear();
            }
        }
    }

    private bool JoinLocked(ClientConnection connection, string group)
    {
        if (!connection.Groups.Add(group))
        {
            return false;
        }
        if (!_groups.TryGetValue(group, out var set))
        {
            _groups[group] = set = [];
        }
        set.Add(connection);
        return true;
    }

    private void LeaveGroupSetLocked(ClientConnection connection, string group)
    {
        if (_groups.TryGetValue(group, out var set) && set.Remove(connection) && set.Count == 0)
        {
            _groups.Remove(group);
        }
    }
}
