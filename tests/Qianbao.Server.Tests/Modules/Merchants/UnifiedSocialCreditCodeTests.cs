using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Merchants;

/// <summary>GB 32100 unified social credit codes, as pure rules.</summary>
public sealed class UnifiedSocialCreditCodeTests
{
    // Published codes of real companies (their business licences), and the sample code of the standard's commentary.
    [Theory]
    [InlineData("91110000802100433B")]
    [InlineData("91440300708461136T")]
    [InlineData("91350100M000100Y43")]
    public void Known_codes_are_valid(string text)
    {
        UnifiedSocialCreditCode.TryParse(text, out var code).ShouldBe(CreditCodeProblem.None);
        code!.Value.Value.ShouldBe(text);
    }

    [Fact]
    public void Lower_case_and_surrounding_spaces_are_the_same_code()
    {
        UnifiedSocialCreditCode.TryParse(" 91110000802100433b ", out var code).ShouldBe(CreditCodeProblem.None);
        code!.Value.Value.ShouldBe("91110000802100433B");
    }

    [Theory]
    [InlineData("91110000802100433B")]
    [InlineData("91350100M000100Y43")]
    public void Changing_any_one_character_makes_a_code_invalid(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            foreach (var c in UnifiedSocialCreditCode.Alphabet)
            {
                if (c == text[i]) continue;
                var changed = text[..i] + c + text[(i + 1)..];
                UnifiedSocialCreditCode.TryParse(changed, out _).ShouldBe(CreditCodeProblem.CheckCharacter, changed);
            }
        }
    }

    [Theory]
    [InlineData(null, "Length")]
    [InlineData("", "Length")]
    [InlineData("91110000802100433", "Length")]
    [InlineData("91110000802100433BB", "Length")]
    [InlineData("LIC-0123456789abcd", "Character")]
    [InlineData("9111000080210043IB", "Character")] // I, O, S, V, Z are not in the alphabet
    [InlineData("9111000080210043OB", "Character")]
    [InlineData("9111000080210043SB", "Character")]
    [InlineData("9111000080210043VB", "Character")]
    [InlineData("9111000080210043ZB", "Character")]
    [InlineData("91110000802100433Z", "Character")]
    [InlineData("911100008021004３3B", "Character")] // a full-width digit
    [InlineData("91110000802100433A", "CheckCharacter")]
    [InlineData("91110000802100343B", "CheckCharacter")] // two characters swapped
    public void Each_kind_of_invalid_code_is_refused(string? text, string problem)
    {
        UnifiedSocialCreditCode.TryParse(text, out var code).ShouldBe(Enum.Parse<CreditCodeProblem>(problem));
        code.ShouldBeNull();
    }

    [Fact]
    public void The_test_generator_makes_valid_distinct_codes()
    {
        var codes = Enumerable.Range(0, 200).Select(_ => CreditCodes.New()).ToList();
        foreach (var c in codes) UnifiedSocialCreditCode.TryParse(c, out _).ShouldBe(CreditCodeProblem.None, c);
        codes.Distinct().Count().ShouldBe(codes.Count);
    }
}
