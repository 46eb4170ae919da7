using Microsoft.Extensions.Primitives;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class GatewayParametersTests
{
    private static KeyValuePair<string, StringValues> P(string key, params string[] values) => new(key, new StringValues(values));

    private static (bool Ok, Dictionary<string, string>? Parameters, GatewayError Error) Collect(
        IEnumerable<KeyValuePair<string, StringValues>> query,
        IEnumerable<KeyValuePair<string, StringValues>> form,
        GatewayRequestOptions? options = null)
    {
        var ok = GatewayParameters.TryCollect(query, form, options ?? GatewayRequestOptions.Default,
            out var parameters, out var error);
        return (ok, parameters, error);
    }

    private static void ShouldBeInvalidParameter((bool Ok, Dictionary<string, string>? Parameters, GatewayError Error) result)
    {
        result.Ok.ShouldBeFalse();
        result.Parameters.ShouldBeNull();
        result.Error.Code.ShouldBe("40002");
        result.Error.Msg.ShouldBe("Invalid Arguments");
        result.Error.SubCode.ShouldBe("isv.invalid-parameter");
    }

    [Fact]
    public void Merges_query_and_body()
    {
        var result = Collect([P("app_id", "1"), P("method", "a.b")], [P("biz_content", "{}")]);

        result.Ok.ShouldBeTrue();
        result.Parameters!.Keys.Order(StringComparer.Ordinal).ShouldBe(["app_id", "biz_content", "method"]);
    }

    [Fact]
    public void Same_key_twice_in_the_query_is_refused() =>
        ShouldBeInvalidParameter(Collect([P("app_id", "1", "2")], []));

    [Fact]
    public void Same_key_twice_with_the_same_value_in_one_place_is_still_refused() =>
        ShouldBeInvalidParameter(Collect([], [P("app_id", "1"), P("app_id", "1")]));

    [Fact]
    public void Same_key_in_query_and_body_with_different_values_is_refused()
    {
        var result = Collect([P("total_amount", "0.01")], [P("total_amount", "100.00")]);
        ShouldBeInvalidParameter(result);
        result.Error.SubMsg.ShouldContain("total_amount");
    }

    [Fact]
    public void Same_key_in_query_and_body_with_the_same_value_is_kept_once()
    {
        var result = Collect([P("app_id", "1")], [P("app_id", "1")]);

        result.Ok.ShouldBeTrue();
        result.Parameters!.Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("a=b")]
    [InlineData("中文")]
    [InlineData("a&b")]
    public void Keys_outside_the_protocol_alphabet_are_refused(string key) =>
        ShouldBeInvalidParameter(Collect([P(key, "v")], []));

    [Fact]
    public void Key_length_is_bounded()
    {
        Collect([P(new string('k', 64), "v")], []).Ok.ShouldBeTrue();
        ShouldBeInvalidParameter(Collect([P(new string('k', 65), "v")], []));
    }

    [Fact]
    public void At_most_64_parameters()
    {
        var sixtyFour = Enumerable.Range(0, 64).Select(i => P($"p{i}", "v")).ToList();
        Collect(sixtyFour.Take(32), sixtyFour.Skip(32)).Ok.ShouldBeTrue();

        var result = Collect(sixtyFour.Take(32), sixtyFour.Skip(32).Append(P("p64", "v")));
        ShouldBeInvalidParameter(result);
        result.Error.SubMsg.ShouldContain("参数过多");
    }

    [Fact]
    public void Values_are_bounded_at_8_KiB_of_utf8()
    {
        Collect([P("subject", new string('a', 8192))], []).Ok.ShouldBeTrue();
        ShouldBeInvalidParameter(Collect([P("subject", new string('a', 8193))], []));

        // 2730 three-byte characters are 8190 bytes; one more is 8193 although only 2731 chars.
        Collect([P("subject", new string('中', 2730))], []).Ok.ShouldBeTrue();
        ShouldBeInvalidParameter(Collect([P("subject", new string('中', 2731))], []));
    }

    [Fact]
    public void Biz_content_is_bounded_at_32_KiB()
    {
        Collect([], [P("biz_content", new string('a', 32 * 1024))]).Ok.ShouldBeTrue();
        ShouldBeInvalidParameter(Collect([], [P("biz_content", new string('a', 32 * 1024 + 1))]));
    }

    [Fact]
    public void Empty_values_are_kept_but_a_null_entry_counts_as_empty()
    {
        var result = Collect([new KeyValuePair<string, StringValues>("a", new StringValues((string?)null))], [P("b", "")]);

        result.Ok.ShouldBeTrue();
        result.Parameters!["a"].ShouldBe("");
        result.Parameters["b"].ShouldBe("");
    }
}
