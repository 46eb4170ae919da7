using Qianbao.Bench;

namespace Qianbao.Server.Tests.Bench;

/// <summary>The growth bench's history readers count a page's items with a forward-only reader: a wrong answer must still fail.</summary>
public sealed class HistoryPageCheckTests
{
    [Theory]
    [InlineData("""{"items":[{"id":"a","counterparty":{"user_id":"u"}},{"id":"b","amount":1}],"next_cursor":"czE"}""", 2)]
    [InlineData("""{"next_cursor":"czE","items":[{"id":"a"}]}""", 1)]
    [InlineData("""{"items":[]}""", 0)]
    [InlineData("""{"type":"about:blank","status":401,"code":"unauthorized"}""", -1)]
    [InlineData("""{"items":[{"id":"a"}]""", -1)]
    [InlineData("""{"items":[{"id":"a"}]}{"items":[]}""", -1)]
    [InlineData("""{"items":[1,2]}""", -1)]
    [InlineData("""{"items":{"id":"a"}}""", -1)]
    [InlineData("""[{"id":"a"}]""", -1)]
    [InlineData("", -1)]
    public void CountsTheItemsOfAWellFormedPageAndRefusesAnythingElse(string body, int items) =>
        GrowthWorkload.PageItems(System.Text.Encoding.UTF8.GetBytes(body)).ShouldBe(items);
}
