// The task map: county polygons from the jurisdictions table as the only base map (registered
// with echarts.registerMap), task points as a scatter series coloured by state. Both come in
// WGS-84 from the server, so they are drawn in the same datum without conversion.
(function () {
  'use strict';
  var configElement = document.getElementById('map-config');
  var element = document.getElementById('task-map');
  var status = document.getElementById('map-status');
  if (!configElement || !element || typeof echarts === 'undefined') return;
  var config = JSON.parse(configElement.textContent);

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error(url + ': HTTP ' + response.status);
        return response.json();
      });
  }

  function bounds(coordinates, box) {
    if (typeof coordinates[0] === 'number') {
      box[0] = Math.min(box[0], coordinates[0]); box[1] = Math.min(box[1], coordinates[1]);
      box[2] = Math.max(box[2], coordinates[0]); box[3] = Math.max(box[3], coordinates[1]);
    } else {
      coordinates.forEach(function (c) { bounds(c, box); });
    }
    return box;
  }

  function nearTasks(collection, points, pad) {
    if (!points.length) return collection;
    var around = [Infinity, Infinity, -Infinity, -Infinity];
    points.forEach(function (p) { bounds([p.lon, p.lat], around); });
    var features = collection.features.filter(function (feature) {
      var box = bounds(feature.geometry.coordinates, [Infinity, Infinity, -Infinity, -Infinity]);
      return box[0] <= around[2] + pad && box[2] >= around[0] - pad
        && box[1] <= around[3] + pad && box[3] >= around[1] - pad;
    });
    return features.length ? { type: 'FeatureCollection', features: features } : collection;
  }

  Promise.all([getJSON(config.counties), getJSON(config.tasks)]).then(function (loaded) {
    var counties = loaded[0];
    var tasks = loaded[1];
    // Draw the counties around the tasks (all of them when there is no task to show): the
    // jurisdictions table may hold far more of the province than the work in view.
    var shown = nearTasks(counties, tasks.points, 0.1);
    echarts.registerMap('suijian-counties', shown);
    var chart = echarts.init(element, null, { renderer: 'svg' });
    var series = config.states.map(function (state) {
      return {
        name: state.label, type: 'scatter', coordinateSystem: 'geo', symbolSize: 9,
        itemStyle: { color: state.colour, borderColor: '#ffffff', borderWidth: 1 },
        data: tasks.points.filter(function (p) { return p.state === state.key; }).map(function (p) {
          return { name: p.enterprise, value: [p.lon, p.lat], due: p.due_date, state: state.label };
        }),
      };
    });
    chart.setOption({
      animation: false,
      legend: { top: 8, left: 8, data: config.states.map(function (s) { return s.label; }) },
      tooltip: {
        trigger: 'item',
        formatter: function (p) {
          if (p.seriesType !== 'scatter') return p.name;
          return p.name + '<br>' + config.labels.state + ': ' + p.data.state + '<br>' + config.labels.due + ': ' + p.data.due;
        },
      },
      geo: {
        map: 'suijian-counties', roam: true,
        label: { show: true, color: '#5f6b7a', fontSize: 11 },
        itemStyle: { areaColor: '#f4f6f8', borderColor: '#5f6b7a', borderWidth: 1 },
        emphasis: { itemStyle: { areaColor: '#e6ebf1' }, label: { color: '#1f2933' } },
      },
      series: series,
    });
    window.addEventListener('resize', function () { chart.resize(); });
    element.dataset.state = 'ready';
    element.dataset.counties = String(shown.features.length);
    element.dataset.countiesTotal = String(counties.features.length);
    element.dataset.countyNames = shown.features.map(function (f) { return f.properties.name; }).join('|');
    element.dataset.points = String(tasks.points.length);
    if (status) status.textContent = '';
  }).catch(function (error) {
    element.dataset.state = 'error';
    if (status) status.textContent = String(error.message || error);
  });
})();
