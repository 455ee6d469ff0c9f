// Dashboards: the three targets against their goals, tiers over time, the consistency funnel.
// Every figure is also in a table on the page; the charts only draw what the server computed.
(function () {
  'use strict';
  var source = document.getElementById('dashboard-data');
  if (!source || typeof echarts === 'undefined') return;
  var data = JSON.parse(source.textContent);
  var L = data.labels;
  var charts = [];
  var TIER_COLOURS = { A: '#166534', B: '#1d4ed8', C: '#b45309', D: '#b3261e' };

  function pct(value) { return value === null || value === undefined ? '—' : (value * 100).toFixed(1) + ' %'; }

  function make(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    var chart = echarts.init(element, null, { renderer: 'svg' });
    charts.push(chart);
    return chart;
  }

  var shares = make('chart-shares');
  if (shares) {
    var keys = ['item_coverage', 'cross_department', 'mobile_rate'];
    var titles = keys.map(function (k) { return data.shares[k].title; });
    shares.setOption({
      animation: false,
      grid: { left: 16, right: 96, top: 24, bottom: 24, containLabel: true },
      tooltip: { trigger: 'item', formatter: function (p) { return titles[p.dataIndex] + ': ' + pct(data.shares[keys[p.dataIndex]][p.seriesIndex === 0 ? 'share' : 'goal']); } },
      xAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: function (v) { return v * 100 + ' %'; } } },
      yAxis: { type: 'category', data: titles, inverse: true },
      series: [{
        name: L.share, type: 'bar', barWidth: 22,
        data: keys.map(function (k) {
          var s = data.shares[k];
          var ok = s.share !== null && s.goal !== null && s.share >= s.goal;
          return { value: s.share === null ? 0 : s.share, itemStyle: { color: ok ? '#166534' : '#b3261e' } };
        }),
        label: { show: true, position: 'right', formatter: function (p) { return pct(data.shares[keys[p.dataIndex]].share); } },
      }, {
        // The goal of each indicator as a marker on its bar.
        name: L.goal, type: 'scatter', symbol: 'rect', symbolSize: [4, 34],
        itemStyle: { color: '#1f2933' },
        data: keys.map(function (k, i) { return [data.shares[k].goal, i]; }),
        label: { show: true, position: 'right', formatter: function (p) { return L.goal + ' ' + pct(p.value[0]); } },
      }],
    });
  }

  var tiers = make('chart-tiers');
  if (tiers) {
    tiers.setOption({
      animation: false,
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      grid: { left: 16, right: 16, top: 36, bottom: 24, containLabel: true },
      xAxis: { type: 'category', data: data.tiers.map(function (r) { return r.date; }) },
      yAxis: { type: 'value', minInterval: 1 },
      series: ['A', 'B', 'C', 'D'].map(function (tier) {
        return {
          name: tier, type: 'bar', stack: 'tiers', itemStyle: { color: TIER_COLOURS[tier] },
          data: data.tiers.map(function (r) { return r[tier]; }),
        };
      }),
    });
  }

  var funnel = make('chart-consistency');
  if (funnel && data.consistency.inspectors.length) {
    var f = data.consistency.funnel;
    function line(name, valueOf, colour, dashed) {
      return {
        name: name, type: 'line', showSymbol: false,
        lineStyle: { color: colour, type: dashed ? 'dashed' : 'solid', width: 1.5 },
        itemStyle: { color: colour },
        data: f.map(function (p) { return [p.n, valueOf(p)]; }),
      };
    }
    function key(k) { return function (p) { return p[k]; }; }
    var colourOf = function (flag) {
      if (flag === 'high' || flag === 'low') return '#b3261e';
      if (flag) return '#b45309';
      return '#1d4ed8';
    };
    funnel.setOption({
      animation: false,
      legend: { top: 0 },
      grid: { left: 16, right: 24, top: 36, bottom: 32, containLabel: true },
      tooltip: {
        trigger: 'item',
        formatter: function (p) {
          if (p.seriesIndex !== 0) return p.seriesName;
          var r = p.data.row;
          return r.inspector + '<br>' + L.inspections + ': ' + r.inspections + '<br>' + L.rate + ': ' + pct(r.rate);
        },
      },
      xAxis: { type: 'value', name: L.inspections, nameLocation: 'middle', nameGap: 24, min: 0 },
      yAxis: { type: 'value', name: L.rate, min: 0, max: 1, axisLabel: { formatter: function (v) { return v * 100 + ' %'; } } },
      series: [
        {
          name: L.inspector, type: 'scatter', symbolSize: 10,
          data: data.consistency.inspectors.map(function (r) {
            return { value: [r.inspections, r.rate], row: r, itemStyle: { color: colourOf(r.flag) } };
          }),
        },
        line(L.overall, function () { return data.consistency.overall; }, '#1f2933', false),
        line(L.limits95, key('low_95'), '#b45309', true),
        line(L.limits95, key('high_95'), '#b45309', true),
        line(L.limits998, key('low_998'), '#b3261e', false),
        line(L.limits998, key('high_998'), '#b3261e', false),
      ],
    });
  }

  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.documentElement.dataset.chartsReady = String(charts.length);
})();
