using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Tests;

public sealed class ConnectionStringTests
{
    [Theory]
    [InlineData("Endpoint=https://x.webpubsub.azure.com;AccessKey=abc;Version=1.0;", "https://x.webpubsub.azure.com/", "abc")]
    [InlineData("endpoint=http://localhost;accesskey=k==;version=1.0", "http://localhost/", "k==")]
    [InlineData("Endpoint=http://localhost;Port=8080;AccessKey=k;Version=1.0;", "http://localhost:8080/", "k")]
    [InlineData(" Endpoint = http://127.0.0.1:9000/ ; AccessKey = k ; ", "http://127.0.0.1:9000/", "k")]
    public void ValidConnectionStringsParse(string text, string endpoint, string key)
    {
        var parsed = WebPubSubConnectionString.Parse(text);
        Assert.Equal(new Uri(endpoint), parsed.Endpoint);
        Assert.Equal(key, parsed.AccessKey);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("AccessKey=k;Version=1.0", "no Endpoint")]
    [InlineData("Endpoint=ftp://x;AccessKey=k", "not an absolute http or https URL")]
    [InlineData("Endpoint=https://x", "no AccessKey")]
    [InlineData("Endpoint=https://x;AccessKey=k;Version=2.0", "Version '2.0' is not supported")]
    [InlineData("Endpoint=https://x;AccessKey=k;Port=99999", "Port '99999'")]
    [InlineData("Endpoint=https://x;garbage;AccessKey=k", "key=value")]
    public void InvalidConnectionStringsAreRefusedWithAReason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => WebPubSubConnectionString.Parse(text));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void TheKeyNeverAppearsInTheTextForm()
    {
        var parsed = WebPubSubConnectionString.Parse("Endpoint=https://x;AccessKey=supersecret;Version=1.0");
        Assert.DoesNotContain("supersecret", parsed.ToString());
    }

    [Fact]
    public void OptionsNeedAConnectionStringOrAnEndpointAndAValidHub()
    {
        var results = new WebPubSubOptions { Hub = "9bad" }.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(new object())).ToList();
        Assert.Contains(results, r => r.ErrorMessage!.Contains("not a valid hub name"));
        Assert.Contains(results, r => r.ErrorMessage!.Contains("WebPubSub:ConnectionString"));
        Assert.Empty(new WebPubSubOptions { Endpoint = new Uri("https://x.webpubsub.azure.com"), Hub = "railcloud" }.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(new object())));
    }
}
