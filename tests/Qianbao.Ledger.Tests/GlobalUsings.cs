global using Qianbao.Ledger;
global using Shouldly;
global using Xunit;
