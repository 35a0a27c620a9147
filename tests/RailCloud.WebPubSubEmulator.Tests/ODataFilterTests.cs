namespace RailCloud.WebPubSubEmulator.Tests;

public sealed class ODataFilterTests
{
    private static readonly string[] Groups = ["g1", "team.red"];

    [Theory]
    [InlineData("userId eq 'alice'", true)]
    [InlineData("userId ne 'alice'", false)]
    [InlineData("'g1' in groups", true)]
    [InlineData("'g2' in groups", false)]
    [InlineData("not ('g2' in groups)", true)]
    [InlineData("userId in ('bob', 'alice')", true)]
    [InlineData("userId eq 'bob' or connectionId eq 'c1'", true)]
    [InlineData("userId eq 'alice' and 'g2' in groups", false)]
    [InlineData("startswith(userId, 'al') and endswith(userId, 'ice')", true)]
    [InlineData("contains(connectionId, '1')", true)]
    [InlineData("length(userId) gt 4", true)]
    [InlineData("length(userId) le 4", false)]
    [InlineData("tolower('ALICE') eq userId", true)]
    [InlineData("USERID eq 'alice'", true)]
    [InlineData("userId eq 'O''Brien'", false)]
    [InlineData("userId eq null", false)]
    public void FiltersMatchAsTheServiceDocumentsThem(string filter, bool expected)
    {
        Assert.True(ODataFilter.TryParse(filter, out var parsed, out var error), error);
        Assert.Equal(expected, parsed!.Matches("c1", "alice", Groups));
    }

    [Fact]
    public void AnonymousConnectionsHaveANullUser()
    {
        Assert.True(ODataFilter.TryParse("userId eq null", out var parsed, out _));
        Assert.True(parsed!.Matches("c1", null, []));
    }

    [Theory]
    [InlineData("userId matches 'a'", "matches")]
    [InlineData("geo.distance(a, b) lt 1", "geo")]
    [InlineData("userId eq 'open", "not closed")]
    [InlineData("userId eq", "ends too early")]
    [InlineData("(userId eq 'a'", "expected ')'")]
    [InlineData("startswith(userId)", "takes 2")]
    [InlineData("userId eq 'a' $", "unexpected character")]
    public void UnsupportedOrBrokenFiltersAreRefusedWithTheReason(string filter, string reason)
    {
        Assert.False(ODataFilter.TryParse(filter, out _, out var error));
        Assert.Contains(reason, error);
    }
}
