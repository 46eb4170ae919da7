using System.Text;
using Qianbao.Server.Modules.Notifications;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>
/// Texts of plain runs and <c>{{ name }}</c> tags are filled by concatenation instead of Fluid: to the same characters,
/// for every built-in text and for random texts and values, and only for texts in that form.
/// </summary>
public sealed class SimpleTemplateTests
{
    /// <summary>Values that an engine could treat as more than characters: markup, Liquid, entities, escapes, other scripts.</summary>
    private static readonly string[] Awkward =
    [
        "", " ", "23.50", "李*", "<b>bold</b>", "a & b", "\"quoted\" 'single'", "&amp;", "{{ amount }}", "{% if x %}y{% endif %}", "}}", "{{", "\\n",
        "line\nbreak\r\n", "\t", "¥", "😀 emoji", "\u200b", "null", "nil", "true", "-1", "%}",
    ];

    private static string RandomValue(Random random)
    {
        if (random.Next(3) == 0) return Awkward[random.Next(Awkward.Length)];
        var chars = new StringBuilder();
        for (var i = random.Next(0, 12); i > 0; i--)
            chars.Append(random.Next(6) switch
            {
                0 => (char)random.Next(0x20, 0x7f),
                1 => (char)random.Next(0x4e00, 0x9fff),
                2 => "<>&\"'{}%|-"[random.Next(10)],
                3 => '\n',
                _ => (char)random.Next('a', 'z' + 1),
            });
        return chars.ToString();
    }

    private static readonly string[] Names = ["amount", "merchant", "counterparty", "decision", "points", "expires", "device", "until", "coupon"];

    private static Dictionary<string, string>? RandomVariables(Random random)
    {
        if (random.Next(10) == 0) return null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Names)
            if (random.Next(4) != 0) values[name] = RandomValue(random);
        return values;
    }

    [Fact]
    public void Every_built_in_text_is_filled_by_substitution_to_what_Fluid_renders()
    {
        var random = new Random(13);
        var texts = 0;
        foreach (var type in NotificationTemplates.Types)
            foreach (var locale in NotificationTemplates.Locales)
            {
                var (title, body) = NotificationTemplates.Default(type, locale)!.Value;
                foreach (var text in new[] { title, body })
                {
                    texts++;
                    NotificationTemplates.SimpleOf(text).ShouldNotBeNull($"{type} {locale}: {text}");
                    for (var round = 0; round < 200; round++)
                    {
                        var variables = RandomVariables(random);
                        NotificationTemplates.Fill(text, variables).ShouldBe(NotificationTemplates.FillWithFluid(text, variables), $"{type} {locale}: {text}");
                    }
                }
            }
        texts.ShouldBeGreaterThan(40);
    }

    /// <summary>Fragments of texts: plain runs, tags the substitution takes, and look-alikes it must leave to Fluid.</summary>
    private static readonly string[] Fragments =
    [
        "a", " ", "  ", "¥", "您向", ". ", "\n", "\r\n", "\t", "<b>", "&amp;", "'", "\"", "-", "|", "%", "}", "{", "{ {", "} }",
        "{{ amount }}", "{{amount}}", "{{  counterparty   }}", "{{ merchant}}", "{{decision }}", "{{ points }}",
        "{{ empty }}", "{{ true }}", "{{ nil }}", "{{ blank }}", "{{ amount | upcase }}", "{{- amount -}}", "{{ amount.size }}", "{{ unknown }}",
        "{{\tamount }}", "{{\namount }}", "{{ 'text' }}", "{{ 12 }}", "{% if amount %}x{% endif %}", "{% raw %}{{ amount }}{% endraw %}", "{{", "}}", "{%", "%}",
        "{{ }}", "{{}}", "{{ amount }}}", "{{{ amount }}",
    ];

    [Fact]
    public void Random_texts_are_filled_to_what_Fluid_renders_and_only_plain_ones_by_substitution()
    {
        var random = new Random(2026);
        var (simple, fluid) = (0, 0);
        for (var round = 0; round < 5_000; round++)
        {
            var text = new StringBuilder();
            for (var i = random.Next(0, 8); i > 0; i--) text.Append(Fragments[random.Next(Fragments.Length)]);
            var t = text.ToString();
            if (NotificationTemplates.SimpleOf(t) is { } split)
            {
                simple++;
                // Split only when every tag is a known name between spaces and no run has a brace.
                split.Literals.ShouldAllBe(l => !l.Contains('{') && !l.Contains('}'), t);
                split.Names.ShouldAllBe(n => Names.Contains(n), t);
            }
            else fluid++;
            for (var values = 0; values < 4; values++)
            {
                var variables = RandomVariables(random);
                NotificationTemplates.Fill(t, variables).ShouldBe(NotificationTemplates.FillWithFluid(t, variables), t);
            }
        }
        // Both ways taken many times, so the comparison covers both.
        simple.ShouldBeGreaterThan(500);
        fluid.ShouldBeGreaterThan(500);
    }

    [Fact]
    public void Liquid_literals_and_filters_are_left_to_Fluid()
    {
        var values = new Dictionary<string, string> { ["amount"] = "1.00", ["empty"] = "x", ["true"] = "x" };
        foreach (var text in new[] { "{{ empty }}", "{{ true }}", "{{ amount | upcase }}", "{{- amount }}", "{% if amount %}{{ amount }}{% endif %}", "a } b" })
        {
            NotificationTemplates.SimpleOf(text).ShouldBeNull(text);
            NotificationTemplates.Fill(text, values).ShouldBe(NotificationTemplates.FillWithFluid(text, values));
        }
        NotificationTemplates.Fill("¥{{ amount }} {{ merchant }}!", values).ShouldBe("¥1.00 !");
    }
}
