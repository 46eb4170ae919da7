using System.Reflection;
using Qianbao.Server.Consoles.Shared;
using Qianbao.Server.Http;

namespace Qianbao.Server.Tests.Consoles;

/// <summary>Every text a console shows exists in both languages, and every API error code reads in Chinese.</summary>
public sealed class ConsoleTextTests
{
    [Fact]
    public void EveryErrorCodeHasAChineseMessage()
    {
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.GetCustomAttribute<ProblemStatusAttribute>() is { Status: not 0 })
            .Select(f => (string)f.GetRawConstantValue()!).ToList();
        codes.Count.ShouldBeGreaterThan(100);
        codes.Where(c => !ErrorTexts.Chinese.ContainsKey(c)).ShouldBeEmpty("add the Chinese message to Consoles/Shared/ErrorTexts.cs");
        ErrorTexts.Chinese.Keys.Except(codes).ShouldBeEmpty("a message for a code the API no longer has");
    }

    [Fact]
    public void ARefusalReadsInThePagesLanguage()
    {
        ErrorTexts.Message("insufficient_funds", "The wallet holds 1.00 CNY.", ConsoleLanguage.Chinese).ShouldBe("余额不足。");
        ErrorTexts.Message("insufficient_funds", "The wallet holds 1.00 CNY.", ConsoleLanguage.English).ShouldBe("The wallet holds 1.00 CNY.");
        ErrorTexts.Message("some_future_code", null, ConsoleLanguage.Chinese).ShouldContain("some_future_code");
    }

    [Fact]
    public void EveryTextHasBothLanguages()
    {
        foreach (var key in ConsoleText.Keys)
        {
            ConsoleText.Get(key, ConsoleLanguage.Chinese).ShouldNotBeNullOrWhiteSpace(key);
            ConsoleText.Get(key, ConsoleLanguage.English).ShouldNotBeNullOrWhiteSpace(key);
        }
        ConsoleText.Has("app.name").ShouldBeTrue();
    }
}
