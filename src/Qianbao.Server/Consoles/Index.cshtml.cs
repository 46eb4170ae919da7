using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles;

/// <summary><c>/</c>: the page that links to the three consoles.</summary>
public sealed class IndexModel : PublicConsolePage
{
    public void OnGet()
    {
    }
}
