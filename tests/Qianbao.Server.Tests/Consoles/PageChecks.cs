using Microsoft.Playwright;

namespace Qianbao.Server.Tests.Consoles;

/// <summary>Checks every console's browser tests make of a page (use with <c>using static</c>).</summary>
internal static class PageChecks
{
    /// <summary>
    /// Runs <paramref name="action"/> and waits for the navigation it starts (a form post re-rendering the same URL included,
    /// which WaitForURL cannot tell from the page before it); the document's response.
    /// </summary>
    public static Task<IResponse?> NavigatingAsync(IPage page, Func<Task> action, PageRunAndWaitForNavigationOptions? options = null)
    {
#pragma warning disable CS0612 // Obsolete in favour of WaitForURL, which cannot wait for a post back to the same URL.
        return page.RunAndWaitForNavigationAsync(action, options);
#pragma warning restore CS0612
    }

    /// <summary>The navigation answered below 500 (a refusal is a page, never a server error).</summary>
    public static async Task OkAsync(Task<IResponse?> navigation)
    {
        var response = await navigation;
        response.ShouldNotBeNull();
        response.Status.ShouldBeLessThan(500, response.Url);
    }

    /// <summary>Every visible input, select and textarea sits in a visible label (a closed &lt;details&gt; shows its fields when opened).</summary>
    public static async Task AllInputsLabelledAsync(IPage page)
    {
        var unlabelled = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(e => e.checkVisibility())
                .filter(e => !e.closest('label') || !e.closest('label').innerText.trim())
                .map(e => e.name)
            """);
        unlabelled.ShouldBeEmpty();
    }
}
